"""enforce_retention on the real database: exactly the expired readings go, by whole chunks or in
batches, counted by device and metric; what the watermarks skip stays exact; a lock held by
someone else makes a step give way instead of waiting."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from register import devices
from register.jobs import catalogue, runs
from register.jobs.retention import IN_FLIGHT, enforce_retention
from register.platform import db
from register.platform.config import Settings
from register.queries import jobs as job_queries
from tests.conftest import run_cli
from tests.register.factories import ADMIN, add_device, device_entry

Conn = psycopg.Connection[Any]
Reading = tuple[int, int, datetime]  # device id, metric id, time

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
# Ages of the test readings: several a day apart or more, spanning many one-day chunks, none
# near a retention's boundary.
AGES = [
    timedelta(hours=1), timedelta(hours=13), 2 * DAY, 5 * DAY, 8 * DAY,
    20 * DAY, 40 * DAY, 41 * DAY, 400 * DAY,
]  # fmt: skip
# The year-long metric has no reading 40 and 41 days old: their chunks hold only expired
# readings although they are younger than the longest retention, and are dropped whole.
LONG_AGES = [timedelta(hours=1), 20 * DAY, 400 * DAY]


def metric(key: str, retention: str) -> dict[str, Any]:
    return {
        "key": key,
        "label": key.upper(),
        "unit": "ug/m3",
        "value_kind": "number",
        "personal": False,
        "retention": retention,
        "open_data": True,
    }


@dataclasses.dataclass
class Register:
    """The test register: metric ids by (public id, key), with each metric's retention."""

    metrics: dict[tuple[str, str], tuple[int, int, timedelta | None]]

    def id(self, public_id: str, key: str) -> tuple[int, int]:
        device_id, metric_id, _ = self.metrics[(public_id, key)]
        return device_id, metric_id


def build_register(conn: Conn) -> Register:
    """Three devices with metrics of every kind of retention, one metric withdrawn, one device
    decommissioned."""
    add_device(
        conn,
        "camden-aq-0001",
        metrics=[metric("no2", "P1D"), metric("pm10", "P30D"), metric("o3", "P7D")],
    )
    # o3 is withdrawn: its readings still go when its last declared retention (7 days) ends.
    devices.update_device(
        conn,
        "camden-aq-0001",
        device_entry("camden-aq-0001", metrics=[metric("no2", "P1D"), metric("pm10", "P30D")]),
        ADMIN,
    )
    add_device(
        conn,
        "camden-aq-0002",
        metrics=[metric("no2", "P7D"), metric("people", "not retained"), metric("pm2_5", "P365D")],
    )
    add_device(conn, "camden-aq-0003", metrics=[metric("no2", "P30D")])
    devices.decommission_device(conn, "camden-aq-0003", ADMIN)
    rows = conn.execute(
        "SELECT d.public_id, m.key, d.id, m.id, m.retention FROM device_metrics m"
        " JOIN devices d ON d.id = m.device_id"
    ).fetchall()
    conn.commit()
    return Register({(p, k): (d, m, r) for p, k, d, m, r in rows})


def insert_readings(conn: Conn, readings: Iterable[Reading]) -> None:
    rows = list(readings)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (time, device_id, metric_id, value) VALUES (%s, %s, %s, 1.0)",
            [(when, device_id, metric_id) for device_id, metric_id, when in rows],
        )
    conn.commit()


def readings_at(register: Register, now: datetime) -> set[Reading]:
    """Every metric's readings at AGES before `now` (LONG_AGES for the year-long one)."""
    return {
        (device_id, metric_id, now - age)
        for (public_id, key), (device_id, metric_id, _) in register.metrics.items()
        for age in (LONG_AGES if key == "pm2_5" else AGES)
    }


def stored(conn: Conn) -> set[Reading]:
    rows = conn.execute("SELECT device_id, metric_id, time FROM readings").fetchall()
    conn.commit()
    return {(d, m, t) for d, m, t in rows}


def retentions(conn: Conn) -> dict[int, timedelta]:
    rows = conn.execute("SELECT id, retention FROM device_metrics").fetchall()
    conn.commit()
    return dict(rows)


def unexpired(conn: Conn, readings: Iterable[Reading], now: datetime) -> set[Reading]:
    """The readings that the register's retentions keep at `now`."""
    kept = retentions(conn)
    return {r for r in readings if kept[r[1]] and r[2] >= now - kept[r[1]]}


def counted(readings: Iterable[Reading]) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for device_id, metric_id, _ in readings:
        counts[(device_id, metric_id)] = counts.get((device_id, metric_id), 0) + 1
    return counts


def chunk_holding(conn: Conn, when: datetime) -> str | None:
    row = conn.execute(
        "SELECT chunk_name FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'readings' AND range_start <= %s AND range_end > %s",
        (when, when),
    ).fetchone()
    conn.commit()
    return None if row is None else str(row[0])


def settle_the_register(conn: Conn) -> None:
    """Make every device's last change old enough for the watermarks to count at NOW."""
    conn.execute("UPDATE devices SET updated_at = %s", (NOW - 30 * DAY,))
    conn.commit()


@pytest.fixture
def register(conn: Conn) -> Register:
    return build_register(conn)


def test_one_run_deletes_exactly_the_expired_readings_dropping_whole_chunks_where_it_can(
    conn: Conn, register: Register, migrated_settings: Settings
) -> None:
    everything = readings_at(register, NOW)
    insert_readings(conn, everything)
    kept = unexpired(conn, everything, NOW)
    assert chunk_holding(conn, NOW - 40 * DAY) is not None

    outcome = enforce_retention(conn, migrated_settings, now=NOW)

    assert stored(conn) == kept
    expired = everything - kept
    assert outcome.rows == len(expired)
    assert outcome.summary == f"{len(expired):,} readings deleted"
    assert outcome.deleted_by_metric == counted(expired)
    # The withdrawn metric, the decommissioned device's and the one not retained lost theirs.
    for public_id, key, left in [
        ("camden-aq-0001", "o3", 4),  # up to 5 days old; 7 days kept
        ("camden-aq-0003", "no2", 6),  # up to 20 days old; 30 days kept
        ("camden-aq-0002", "people", 0),
    ]:
        assert len([r for r in kept if r[:2] == register.id(public_id, key)]) == left
    # 400 days is older than every retention; the chunks of 40 and 41 days hold only readings
    # of metrics kept for 30 days or less: all three were dropped whole, and said so.
    for age in (40 * DAY, 41 * DAY, 400 * DAY):
        assert chunk_holding(conn, NOW - age) is None
    assert outcome.details["chunks_dropped"] == 3
    assert outcome.details["dropped_rows"] == len([r for r in expired if NOW - r[2] >= 40 * DAY])
    assert outcome.details["batched_rows"] == outcome.rows - outcome.details["dropped_rows"]
    assert outcome.details["steps_skipped"] == 0
    # The chunk of 20 days holds the year-long metric's reading: deleted from, not dropped.
    assert chunk_holding(conn, NOW - 20 * DAY) is not None


def test_a_second_run_straight_after_deletes_nothing(
    conn: Conn, register: Register, migrated_settings: Settings
) -> None:
    insert_readings(conn, readings_at(register, NOW))
    enforce_retention(conn, migrated_settings, now=NOW)
    left = stored(conn)
    again = enforce_retention(conn, migrated_settings, now=NOW + timedelta(seconds=1))
    assert (again.rows, again.summary, again.deleted_by_metric) == (0, "", {})
    assert stored(conn) == left


def test_a_shortened_retention_removes_exactly_the_readings_that_have_now_expired(
    conn: Conn, register: Register, migrated_settings: Settings
) -> None:
    settle_the_register(conn)
    everything = readings_at(register, NOW)
    insert_readings(conn, everything)
    first = enforce_retention(conn, migrated_settings, now=NOW)
    assert first.details["watermarks_set"] == len(register.metrics)
    before = stored(conn)

    entry = device_entry("camden-aq-0001", metrics=[metric("no2", "P1D"), metric("pm10", "P7D")])
    devices.update_device(conn, "camden-aq-0001", entry, ADMIN)
    conn.commit()
    later = NOW + timedelta(minutes=15)
    second = enforce_retention(conn, migrated_settings, now=later)

    newly_expired = before - unexpired(conn, before, later)
    pm10 = register.id("camden-aq-0001", "pm10")
    assert {r[:2] for r in newly_expired} == {pm10}  # 8 and 20 days old
    assert len(newly_expired) == 2
    assert stored(conn) == before - newly_expired
    assert second.deleted_by_metric == {pm10: 2}


def test_a_retention_lengthened_then_shortened_between_runs_leaves_no_old_reading(
    conn: Conn, register: Register, migrated_settings: Settings
) -> None:
    settle_the_register(conn)
    insert_readings(conn, readings_at(register, NOW))
    enforce_retention(conn, migrated_settings, now=NOW)
    no2 = register.id("camden-aq-0002", "no2")  # kept 7 days, marked enforced up to NOW - 7 d
    # Lengthened to 30 days: the ingester may store readings up to 30 days old...
    conn.execute("UPDATE device_metrics SET retention = '30 days' WHERE id = %s", (no2[1],))
    conn.commit()
    late = {(*no2, NOW - 15 * DAY), (*no2, NOW - 25 * DAY)}
    insert_readings(conn, late)
    # ...then back to 7 days, straight in the table: the devices' updated_at does not move.
    conn.execute("UPDATE device_metrics SET retention = '7 days' WHERE id = %s", (no2[1],))
    conn.commit()

    second = enforce_retention(conn, migrated_settings, now=NOW + timedelta(minutes=15))

    assert second.deleted_by_metric == {no2: 2}
    assert not stored(conn) & late
    assert second.details["metrics_from_watermark"] == len(register.metrics) - 1


def test_a_reading_committed_after_the_run_that_passed_its_time_goes_at_the_next_run(
    conn: Conn, register: Register, migrated_settings: Settings
) -> None:
    settle_the_register(conn)
    insert_readings(conn, readings_at(register, NOW))
    enforce_retention(conn, migrated_settings, now=NOW)
    # Checked by the ingester just before that run, committed just after: a little below the
    # 7-day metric's watermark, within IN_FLIGHT of it.
    no2 = register.id("camden-aq-0002", "no2")
    straggler = (*no2, NOW - 7 * DAY - IN_FLIGHT / 2)
    insert_readings(conn, [straggler])

    second = enforce_retention(conn, migrated_settings, now=NOW + timedelta(minutes=15))

    assert second.deleted_by_metric == {no2: 1}
    assert straggler not in stored(conn)
    # Every metric was looked at from its watermark only.
    assert second.details["metrics_from_watermark"] == len(register.metrics)


def test_small_batches_resume_where_the_last_one_stopped_and_miss_nothing(
    conn: Conn, register: Register, migrated_settings: Settings
) -> None:
    everything = {
        (*register.id(public_id, key), NOW - 3 * DAY - timedelta(minutes=minute))
        for public_id, key in register.metrics
        for minute in range(0, 60 * 20, 10)  # 120 readings each, over 20 hours of one chunk
    }
    insert_readings(conn, everything)
    small = dataclasses.replace(
        migrated_settings,
        jobs=dataclasses.replace(migrated_settings.jobs, retention_batch_rows=7, retention_pause=0),
    )
    kept = unexpired(conn, everything, NOW)

    outcome = enforce_retention(conn, small, now=NOW)

    assert stored(conn) == kept
    assert outcome.deleted_by_metric == counted(everything - kept)
    assert outcome.details["batches"] >= len(everything - kept) // 7
    assert outcome.details["paused_seconds"] == 0  # no pause asked for


def test_a_pause_after_each_batch_gives_ingest_its_share_of_the_machine(
    conn: Conn, register: Register, migrated_settings: Settings
) -> None:
    everything = {
        (*register.id(public_id, key), NOW - 3 * DAY - timedelta(minutes=minute))
        for public_id, key in register.metrics
        for minute in range(0, 60 * 20, 10)
    }
    insert_readings(conn, everything)
    pausing = dataclasses.replace(
        migrated_settings,
        jobs=dataclasses.replace(
            migrated_settings.jobs, retention_batch_rows=7, retention_pause=2.0
        ),
    )
    kept = unexpired(conn, everything, NOW)

    outcome = enforce_retention(conn, pausing, now=NOW)

    assert stored(conn) == kept
    details = outcome.details
    assert details["paused_seconds"] == pytest.approx(2 * details["batched_seconds"], abs=0.002)
    assert details["paused_seconds"] > 0


def test_a_chunk_larger_than_a_batch_goes_page_range_by_page_range(
    conn: Conn, register: Register, migrated_settings: Settings
) -> None:
    device_id, metric_id = register.id("camden-aq-0001", "no2")  # kept 1 day
    conn.execute(
        "INSERT INTO readings (time, device_id, metric_id, value)"
        " SELECT %s - s * interval '1 second', %s, %s, 1.0 FROM generate_series(1, 3000) s",
        (NOW - 3 * DAY, device_id, metric_id),
    )
    conn.commit()
    # A reading kept a year holds the chunk back from being dropped whole.
    kept = (*register.id("camden-aq-0002", "pm2_5"), NOW - 3 * DAY)
    insert_readings(conn, [kept])
    # A page holds at most 291 rows: batches of 300 rows go one page at a time.
    pages = dataclasses.replace(
        migrated_settings,
        jobs=dataclasses.replace(migrated_settings.jobs, retention_batch_rows=300),
    )

    outcome = enforce_retention(conn, pages, now=NOW)

    assert outcome.deleted_by_metric == {(device_id, metric_id): 3000}
    assert stored(conn) == {kept}
    assert outcome.details["chunks_dropped"] == 0
    assert outcome.details["batches"] >= 3000 // 291


def test_the_runner_records_the_run_and_what_it_deleted_by_device_and_metric(
    conn: Conn, register: Register, migrated_settings: Settings
) -> None:
    now = datetime.now(UTC)
    everything = readings_at(register, now)
    insert_readings(conn, everything)
    expired = everything - unexpired(conn, everything, now)
    job = catalogue.find("enforce_retention")
    assert job is not None

    run = runs.run(conn, migrated_settings, job)

    assert run.error is None
    assert run.line.startswith(f"enforce_retention: {len(expired):,} readings deleted")
    latest = job_queries.list_latest_runs(conn)["enforce_retention"]
    assert (latest["rows_affected"], latest["result"]) == (
        len(expired),
        f"{len(expired):,} readings deleted",
    )
    recorded = conn.execute(
        "SELECT device_id, metric_id, deleted FROM retention_deletions WHERE run_id = %s",
        (run.id,),
    ).fetchall()
    assert {(device_id, metric_id): n for device_id, metric_id, n in recorded} == counted(expired)
    conn.commit()


@pytest.fixture
def other(migrated_settings: Settings) -> Iterator[Conn]:
    """A second session, to hold locks the job must not wait for."""
    with db.connect(migrated_settings) as connection:
        yield connection


def test_a_step_that_cannot_get_its_lock_gives_way_and_the_next_run_finishes_it(
    conn: Conn, other: Conn, register: Register, migrated_settings: Settings
) -> None:
    settle_the_register(conn)
    everything = readings_at(register, NOW)
    insert_readings(conn, everything)
    kept = unexpired(conn, everything, NOW)
    impatient = dataclasses.replace(
        migrated_settings, jobs=dataclasses.replace(migrated_settings.jobs, lock_timeout=0.2)
    )
    blocked = chunk_holding(conn, NOW - 5 * DAY)
    droppable = chunk_holding(conn, NOW - 40 * DAY)
    # Someone reads the droppable chunk (drop_chunks needs it to themselves), and someone holds
    # the other chunk against writes (a DELETE cannot start there).
    other.execute(f"SELECT count(*) FROM _timescaledb_internal.{droppable}")
    other.execute(f"LOCK TABLE _timescaledb_internal.{blocked} IN SHARE MODE")

    first = enforce_retention(conn, impatient, now=NOW)

    other.rollback()
    assert first.details["steps_skipped"] == 2
    assert any(step.startswith(f"dropping {droppable}") for step in first.details["skipped"])
    assert any(step.startswith(f"deleting from {blocked}") for step in first.details["skipped"])
    assert first.summary.endswith("; 2 steps gave way to a lock")
    # The chunk that could not be dropped was deleted from in batches instead.
    assert chunk_holding(conn, NOW - 40 * DAY) == droppable
    in_blocked = {r for r in everything if chunk_holding(conn, r[2]) == blocked}
    assert stored(conn) == kept | (in_blocked - kept)
    # The metrics with readings left in the chunk that gave way get no watermark this time.
    left_behind = {r[1] for r in in_blocked - kept}
    assert left_behind == {
        register.id("camden-aq-0001", "no2")[1],
        register.id("camden-aq-0002", "people")[1],
    }
    assert first.details["watermarks_set"] == len(register.metrics) - len(left_behind)
    marked = {row[0] for row in conn.execute("SELECT metric_id FROM retention_watermarks")}
    conn.commit()
    assert not marked & left_behind

    second = enforce_retention(conn, impatient, now=NOW)
    assert stored(conn) == kept
    assert second.rows == len(in_blocked - kept)
    assert second.details["steps_skipped"] == 0


def test_the_retention_benchmark_prints_every_figure(stack_config: Path) -> None:
    result = run_cli(
        "bench", "retention", "--rows", "60000", "--days", "100", "--devices", "40",
        config_path=stack_config, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout[result.stdout.index("60,000 readings over 100 days from 40 devices") :]
    cells = [[cell.strip() for cell in line.split(" | ")] for line in table.splitlines()]
    figures = {row[0]: row[1:] for row in cells if len(row) == 3}
    for row in (
        "readings generated (INSERT … SELECT generate_series)",
        "drop_chunks (whole chunks)",
        "batched deletes",
        "plain DELETE on a copy, alone",
        "plain DELETE on a copy, under the ingest load",
        "ingest alone",
        "ingest during the retention run",
        "longest ingest wait on a lock",
        "second run straight after",
    ):
        assert row in figures, table
        assert re.search(r"\d", figures[row][0]), f"no figure for {row!r} in:\n{table}"
    assert re.fullmatch(r"[\d,]+ readings in \d+\.\d+ s", figures["second run straight after"][0])
