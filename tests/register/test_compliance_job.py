"""compute_compliance on a real database: readings and refused data at known ages give exact
figures, and a run replaces the previous figures whole or not at all."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from register.jobs.compliance import compute_compliance
from register.platform.config import Settings
from register.queries import Conn
from tests.register.factories import add_device


def metric_ids(conn: Conn, device_id: int) -> dict[str, int]:
    rows = conn.execute(
        "SELECT key, id FROM device_metrics WHERE device_id = %s", (device_id,)
    ).fetchall()
    return dict(rows)


def add_reading(conn: Conn, device_id: int, metric_id: int, age: str) -> None:
    conn.execute(
        "INSERT INTO readings VALUES (now() - %s::interval, %s, %s, 1)", (age, device_id, metric_id)
    )


def quarantine(conn: Conn, device_id: int, reason: str, age: str) -> None:
    conn.execute(
        "INSERT INTO quarantine (received_at, source, topic, payload, payload_size, reason,"
        " message, device_id) VALUES (now() - %s::interval, 'native', 't', 'x', 1, %s, 'test', %s)",
        (age, reason, device_id),
    )


def refused_on(conn: Conn, device_id: int, reason: str, days_ago: int, refused: int) -> None:
    conn.execute(
        "INSERT INTO refusals_by_day (day, device_id, reason, refused)"
        " VALUES ((now() AT TIME ZONE 'UTC')::date - %s, %s, %s, %s)",
        (days_ago, device_id, reason, refused),
    )


def stored_metric_figures(conn: Conn) -> dict[tuple[str, str], tuple[float | None, datetime]]:
    """(device, metric) -> (age of the oldest stored reading in days when computed, computed_at)"""
    rows = conn.execute(
        """SELECT d.public_id, m.key,
                  extract(epoch FROM c.computed_at - c.oldest_at) / 86400, c.computed_at
             FROM metric_compliance c JOIN device_metrics m ON m.id = c.metric_id
             JOIN devices d ON d.id = c.device_id"""
    ).fetchall()
    return {
        (device, key): (None if age is None else round(float(age), 3), at)
        for device, key, age, at in rows
    }


def stored_refusals(conn: Conn) -> dict[tuple[str, str], tuple[int, int]]:
    rows = conn.execute(
        """SELECT d.public_id, r.reason, r.last_7_days, r.last_30_days
             FROM device_refusals r JOIN devices d ON d.id = r.device_id"""
    ).fetchall()
    return {(device, reason): (last_7, last_30) for device, reason, last_7, last_30 in rows}


def stored_organisation_figures(conn: Conn) -> dict[str, tuple[int, int, int, int]]:
    """slug -> (devices, devices within retention, refused in 7 days, refused in 30 days)"""
    rows = conn.execute(
        """SELECT o.slug, c.devices, c.within_retention, c.refused_7_days, c.refused_30_days
             FROM organisation_compliance c JOIN organisations o ON o.id = c.organisation_id"""
    ).fetchall()
    return {
        slug: (devices, within, last_7, last_30) for slug, devices, within, last_7, last_30 in rows
    }


@pytest.fixture
def register(conn: Conn) -> dict[str, Any]:
    """Two devices with readings and refused data at known ages; one metric withdrawn with
    readings still stored, one withdrawn with none."""
    with conn.transaction():
        first = add_device(conn, "camden-aq-0001")
        second = add_device(conn, "camden-aq-0002")
        one, two = metric_ids(conn, first), metric_ids(conn, second)
        add_reading(conn, first, one["no2"], "29 days")
        add_reading(conn, first, one["no2"], "1 day")
        add_reading(conn, second, two["no2"], "40 days")
        add_reading(conn, second, two["no2"], "3 hours")
        add_reading(conn, second, two["pm2_5"], "2 days")
        conn.execute(
            "UPDATE device_metrics SET withdrawn_at = now() WHERE id = ANY(%s)",
            ([two["pm2_5"], one["pm2_5"]],),
        )
        # Still in quarantine: 2 days old (both windows), 10 days (30 only), 40 days (neither).
        quarantine(conn, first, "undeclared_metric", "2 days")
        quarantine(conn, first, "undeclared_metric", "2 days")
        quarantine(conn, first, "undeclared_metric", "10 days")
        quarantine(conn, first, "unit_mismatch", "40 days")
        # Purged already, counted by day.
        refused_on(conn, first, "undeclared_metric", 3, 5)
        refused_on(conn, first, "undeclared_metric", 20, 7)
        refused_on(conn, first, "undeclared_metric", 31, 100)
        refused_on(conn, second, "device_not_active", 29, 4)
        refused_on(conn, second, "device_not_active", 30, 50)
    return {"first": first, "second": second}


def test_the_figures_are_exact_for_readings_and_refusals_at_known_ages(
    conn: Conn, migrated_settings: Settings, register: dict[str, Any]
) -> None:
    outcome = compute_compliance(conn, migrated_settings)
    assert outcome.summary == "compliance figures for 2 devices"
    # 3 metrics: both no2 and the second device's withdrawn pm2_5, which still has a reading;
    # the first device's withdrawn pm2_5 has none and is left out.
    assert outcome.rows == 3 + 2
    assert outcome.details["metrics"] == 3 and outcome.details["devices"] == 2
    assert outcome.details["organisations"] == 1
    with conn.transaction():
        figures = stored_metric_figures(conn)
        refusals = stored_refusals(conn)
    ages = {key: age for key, (age, _) in figures.items()}
    assert ages == {
        ("camden-aq-0001", "no2"): pytest.approx(29, abs=0.01),
        ("camden-aq-0002", "no2"): pytest.approx(40, abs=0.01),
        ("camden-aq-0002", "pm2_5"): pytest.approx(2, abs=0.01),
    }
    assert len({at for _, at in figures.values()}) == 1
    assert refusals == {
        ("camden-aq-0001", "undeclared_metric"): (2 + 5, 2 + 1 + 5 + 7),
        ("camden-aq-0002", "device_not_active"): (0, 4),
    }
    # The second device keeps a no2 reading 40 days old, with 30 days declared.
    with conn.transaction():
        assert stored_organisation_figures(conn) == {"camden": (2, 1, 7, 19)}


def test_a_reading_past_its_retention_by_less_than_a_retention_interval_is_within(
    conn: Conn, migrated_settings: Settings
) -> None:
    """Trust rule 4: no reading is older than its retention plus the retention job's interval
    (15 minutes by default)."""
    with conn.transaction():
        device_id = add_device(conn, "camden-aq-0001")
        add_reading(conn, device_id, metric_ids(conn, device_id)["no2"], "30 days 10 minutes")
        add_device(conn, "hackney-aq-0001", organisation="hackney")
        late_id = add_device(conn, "hackney-aq-0002", organisation="hackney")
        add_reading(conn, late_id, metric_ids(conn, late_id)["no2"], "30 days 20 minutes")
    assert migrated_settings.jobs.retention_interval == 900
    compute_compliance(conn, migrated_settings)
    with conn.transaction():
        assert stored_organisation_figures(conn) == {
            "camden": (1, 1, 0, 0),
            "hackney": (2, 1, 0, 0),
        }


def test_a_declared_metric_with_nothing_stored_has_a_figure_of_none(
    conn: Conn, migrated_settings: Settings
) -> None:
    with conn.transaction():
        add_device(conn, "camden-aq-0001")
    assert compute_compliance(conn, migrated_settings).rows == 2 + 1
    with conn.transaction():
        ages = {key: age for key, (age, _) in stored_metric_figures(conn).items()}
        assert stored_refusals(conn) == {}
    assert ages == {("camden-aq-0001", "no2"): None, ("camden-aq-0001", "pm2_5"): None}


def test_a_run_replaces_the_previous_figures_whole(
    conn: Conn, migrated_settings: Settings, register: dict[str, Any]
) -> None:
    compute_compliance(conn, migrated_settings)
    with conn.transaction():
        conn.execute("DELETE FROM readings WHERE time < now() - interval '30 days'")
        conn.execute("DELETE FROM quarantine")
        conn.execute("DELETE FROM refusals_by_day WHERE device_id = %s", (register["second"],))
    compute_compliance(conn, migrated_settings)
    with conn.transaction():
        figures = stored_metric_figures(conn)
        refusals = stored_refusals(conn)
    assert figures[("camden-aq-0002", "no2")][0] == pytest.approx(0.125, abs=0.01)
    assert len({at for _, at in figures.values()}) == 1
    assert refusals == {("camden-aq-0001", "undeclared_metric"): (5, 12)}


def test_a_run_that_fails_leaves_the_previous_figures_as_they_were(
    conn: Conn, migrated_settings: Settings, register: dict[str, Any]
) -> None:
    compute_compliance(conn, migrated_settings)
    with conn.transaction():
        before = (
            stored_metric_figures(conn),
            stored_refusals(conn),
            stored_organisation_figures(conn),
        )
        conn.execute("DELETE FROM readings WHERE time < now() - interval '30 days'")
        # Two days of 2 billion each overflow the counts' integer column: the run fails after
        # it has stored the readings' figures, and before it has stored the refusals.
        refused_on(conn, register["second"], "future_time", 1, 2_000_000_000)
        refused_on(conn, register["second"], "future_time", 2, 2_000_000_000)
    with pytest.raises(psycopg.errors.NumericValueOutOfRange):
        compute_compliance(conn, migrated_settings)
    with conn.transaction():
        after = (
            stored_metric_figures(conn),
            stored_refusals(conn),
            stored_organisation_figures(conn),
        )
    assert after == before


def test_old_figures_stay_until_the_next_run(
    conn: Conn, migrated_settings: Settings, register: dict[str, Any]
) -> None:
    """Pages read the stored figures, so new readings change nothing until a run."""
    compute_compliance(conn, migrated_settings)
    with conn.transaction():
        before = stored_metric_figures(conn)
        ids = metric_ids(conn, register["first"])
        add_reading(conn, register["first"], ids["no2"], "29 days 12 hours")
        assert stored_metric_figures(conn) == before
    compute_compliance(conn, migrated_settings)
    with conn.transaction():
        after = stored_metric_figures(conn)
    assert after[("camden-aq-0001", "no2")][0] == pytest.approx(29.5, abs=0.01)
    assert timedelta(0) < after[("camden-aq-0001", "no2")][1] - before[("camden-aq-0001", "no2")][1]
