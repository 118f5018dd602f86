"""mark_silent, called directly: which devices it marks as not reporting, since when, and when a
mark ends."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

from register import devices
from register.jobs import catalogue, runs
from register.jobs.outcome import Outcome
from register.jobs.silence import mark_silent
from register.platform.config import Settings
from register.queries import Conn
from register.queries.silence import NOT_REPORTING_SINCE
from tests.register.factories import ADMIN, add_device


def heard(conn: Conn, device_id: int, ago: timedelta) -> datetime:
    """Record the device as last heard from `ago`, as the ingester does; that time."""
    at = datetime.now(UTC) - ago
    with conn.transaction():
        conn.execute(
            "INSERT INTO device_activity (device_id, last_seen_at) VALUES (%s, %s)"
            " ON CONFLICT (device_id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at",
            (device_id, at),
        )
    return at


def registered(conn: Conn, device_id: int, ago: timedelta) -> datetime:
    """Move the device's creation, and every event of its history, `ago` into the past."""
    at = datetime.now(UTC) - ago
    with conn.transaction():
        conn.execute("UPDATE devices SET created_at = %s WHERE id = %s", (at, device_id))
        conn.execute(
            "UPDATE audit_events SET at = %s WHERE entity = 'device' AND entity_id = %s",
            (at, device_id),
        )
    return at


def marks(conn: Conn) -> dict[int, datetime]:
    """device id -> since, of every row of device_silence."""
    with conn.transaction():
        rows = conn.execute("SELECT device_id, since FROM device_silence").fetchall()
    return {device_id: since for device_id, since in rows}


def device(conn: Conn, public_id: str, **changes: object) -> int:
    with conn.transaction():
        device_id = add_device(conn, public_id, **changes)
    return device_id


def test_a_device_not_heard_from_for_factor_times_its_interval_is_marked_since_it_was_last_heard(
    conn: Conn, migrated_settings: Settings
) -> None:
    overdue = device(conn, "camden-aq-0001", reporting_interval="PT15M")
    in_time = device(conn, "camden-aq-0002", reporting_interval="PT15M")
    undeclared = device(conn, "camden-aq-0003")
    suspended = device(conn, "camden-aq-0004", reporting_interval="PT15M", status="suspended")
    for device_id in (overdue, in_time, undeclared, suspended):
        registered(conn, device_id, timedelta(days=30))
    last_heard = heard(conn, overdue, timedelta(minutes=46))  # factor 3: 45 minutes
    heard(conn, in_time, timedelta(minutes=44))
    heard(conn, undeclared, timedelta(days=7))
    heard(conn, suspended, timedelta(days=7))

    outcome = mark_silent(conn, migrated_settings)

    assert marks(conn) == {overdue: last_heard}
    assert outcome.rows == 1
    assert outcome.summary == "1 device marked not reporting"
    assert outcome.details == {
        "marked": 1,
        "recovered": 0,
        "no_longer_expected": 0,
        "not_reporting": 1,
        "factor": 3.0,
    }
    # Nothing changed since: a second run does nothing, and says so with an empty summary.
    assert mark_silent(conn, migrated_settings) == Outcome(
        0,
        "",
        {"marked": 0, "recovered": 0, "no_longer_expected": 0, "not_reporting": 1, "factor": 3.0},
    )


def test_the_factor_comes_from_the_settings(conn: Conn, migrated_settings: Settings) -> None:
    device_id = device(conn, "camden-aq-0001", reporting_interval="PT1M")
    registered(conn, device_id, timedelta(days=1))
    heard(conn, device_id, timedelta(minutes=5))
    patient = dataclasses.replace(
        migrated_settings, jobs=dataclasses.replace(migrated_settings.jobs, silence_factor=10)
    )
    assert mark_silent(conn, patient).rows == 0
    hasty = dataclasses.replace(
        migrated_settings, jobs=dataclasses.replace(migrated_settings.jobs, silence_factor=1.5)
    )
    assert mark_silent(conn, hasty).summary == "1 device marked not reporting"
    # Back to a patient factor, the device is no longer overdue: its mark goes.
    assert mark_silent(conn, patient).summary == "1 device no longer expected to report"
    assert marks(conn) == {}


def test_a_device_never_heard_from_is_expected_from_when_it_was_made_active(
    conn: Conn, migrated_settings: Settings
) -> None:
    never = device(conn, "camden-aq-0001", reporting_interval="PT1H")
    created = registered(conn, never, timedelta(hours=4))
    new = device(conn, "camden-aq-0002", reporting_interval="PT1H")  # created just now
    # Planned long ago, made active only now: it has had no time to report yet.
    activated_late = device(conn, "camden-aq-0003", reporting_interval="PT1H", status="planned")
    registered(conn, activated_late, timedelta(days=100))
    with conn.transaction():
        entry = devices.get_device(conn, "camden-aq-0003")
        assert entry is not None
        devices.update_device(conn, "camden-aq-0003", {**entry, "status": "active"}, ADMIN)

    mark_silent(conn, migrated_settings)

    assert marks(conn) == {never: created}
    assert new not in marks(conn)


def test_a_device_made_active_again_is_expected_from_then_not_from_its_last_message(
    conn: Conn, migrated_settings: Settings
) -> None:
    device_id = device(conn, "camden-aq-0001", reporting_interval="PT15M", status="suspended")
    registered(conn, device_id, timedelta(days=60))
    heard(conn, device_id, timedelta(days=30))
    with conn.transaction():
        entry = devices.get_device(conn, "camden-aq-0001")
        assert entry is not None
        devices.update_device(conn, "camden-aq-0001", {**entry, "status": "active"}, ADMIN)
    assert mark_silent(conn, migrated_settings).rows == 0
    # An hour after it was made active, with nothing heard since, it is overdue from then.
    with conn.transaction():
        (activated,) = conn.execute(
            "UPDATE audit_events SET at = at - interval '1 hour'"
            " WHERE entity = 'device' AND entity_id = %s AND action = 'update' RETURNING at",
            (device_id,),
        ).fetchone() or (None,)
    mark_silent(conn, migrated_settings)
    assert marks(conn) == {device_id: activated}


def test_a_device_heard_from_again_is_reporting_at_once_and_its_mark_goes_at_the_next_run(
    conn: Conn, migrated_settings: Settings
) -> None:
    device_id = device(conn, "camden-aq-0001", reporting_interval="PT1M")
    registered(conn, device_id, timedelta(days=1))
    heard(conn, device_id, timedelta(minutes=10))
    mark_silent(conn, migrated_settings)
    assert not_reporting(conn) == {"camden-aq-0001"}

    heard(conn, device_id, timedelta(seconds=1))
    # Before any run: the readers' own test ends the mark.
    assert not_reporting(conn) == set()
    assert device_id in marks(conn)

    outcome = mark_silent(conn, migrated_settings)
    assert outcome.summary == "1 device recovered"
    assert outcome.details["recovered"] == 1
    assert marks(conn) == {}


def test_marks_of_devices_no_longer_active_or_without_an_interval_are_removed(
    conn: Conn, migrated_settings: Settings
) -> None:
    ids = {
        public_id: device(conn, public_id, reporting_interval="PT1M")
        for public_id in ("camden-aq-0001", "camden-aq-0002", "camden-aq-0003")
    }
    for device_id in ids.values():
        registered(conn, device_id, timedelta(days=1))
        heard(conn, device_id, timedelta(hours=1))
    assert mark_silent(conn, migrated_settings).summary == "3 devices marked not reporting"
    with conn.transaction():
        for public_id, changes in (
            ("camden-aq-0001", {"status": "suspended"}),
            ("camden-aq-0002", {"reporting_interval": None}),
        ):
            entry = devices.get_device(conn, public_id)
            assert entry is not None
            devices.update_device(conn, public_id, {**entry, **changes}, ADMIN)
    # Readers stop at once; the run removes the rows.
    assert not_reporting(conn) == {"camden-aq-0003"}
    outcome = mark_silent(conn, migrated_settings)
    assert outcome.summary == "2 devices no longer expected to report"
    assert marks(conn) == {ids["camden-aq-0003"]: marks(conn)[ids["camden-aq-0003"]]}


def test_a_run_is_recorded_with_what_it_did(conn: Conn, migrated_settings: Settings) -> None:
    device_id = device(conn, "camden-aq-0001", reporting_interval="PT1M")
    registered(conn, device_id, timedelta(days=1))
    job = catalogue.find("mark_silent")
    assert job is not None
    run = runs.run(conn, migrated_settings, job)
    assert run.error is None
    assert run.line.startswith("mark_silent: 1 device marked not reporting (")
    with conn.transaction():
        row = conn.execute(
            "SELECT rows_affected, result FROM job_runs WHERE id = %s", (run.id,)
        ).fetchone()
    assert row == (1, "1 device marked not reporting")


def test_it_is_set_based_and_fast_at_100000_devices(
    conn: Conn, migrated_settings: Settings
) -> None:
    """100,000 active devices with an interval, 1,000 of them overdue and 200 marked and heard
    from again: one run takes well under a second (measured here: see the report)."""
    first = device(conn, "camden-aq-0001", reporting_interval="PT5M")
    with conn.transaction():
        conn.execute(
            """INSERT INTO devices (organisation_id, public_id, name, status, latitude, longitude,
                                    place, technology, purposes, reporting_interval, created_at)
               SELECT organisation_id, 'bulk-' || n, name, 'active', latitude, longitude, place,
                      technology, purposes, interval '5 minutes', now() - interval '1 day'
                 FROM devices, generate_series(1, 99999) AS n WHERE id = %s""",
            (first,),
        )
        conn.execute(
            """INSERT INTO device_activity (device_id, last_seen_at)
               SELECT id, now() - CASE WHEN id % 100 = 0 THEN interval '1 hour'
                                       ELSE interval '1 minute' END
                 FROM devices"""
        )
        conn.execute("ANALYZE devices")
        conn.execute("ANALYZE device_activity")
    started = time.perf_counter()
    first_run = mark_silent(conn, migrated_settings)
    first_seconds = time.perf_counter() - started
    assert first_run.details["marked"] == 1000
    with conn.transaction():
        conn.execute(
            "UPDATE device_activity SET last_seen_at = now()"
            " WHERE device_id IN (SELECT device_id FROM device_silence LIMIT 200)"
        )
    started = time.perf_counter()
    second_run = mark_silent(conn, migrated_settings)
    second_seconds = time.perf_counter() - started
    assert (second_run.details["recovered"], second_run.details["not_reporting"]) == (200, 800)
    taken = f"{first_seconds:.3f} s, then {second_seconds:.3f} s"
    assert first_seconds < 1 and second_seconds < 1, taken


def not_reporting(conn: Conn) -> set[str]:
    """Public ids of the devices that readers show as not reporting."""
    with conn.transaction():
        rows = conn.execute(
            "SELECT public_id FROM devices d WHERE" + NOT_REPORTING_SINCE + " IS NOT NULL"
        ).fetchall()
    return {public_id for (public_id,) in rows}
