"""The database checks the register's rules too: a direct INSERT or UPDATE that breaks one fails."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.register.factories import add_device

Conn = psycopg.Connection[Any]


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("UPDATE devices SET status = 'broken'", psycopg.errors.CheckViolation),
        (
            "UPDATE devices SET purposes = '{health,mobility,inform,ecology}'",
            psycopg.errors.CheckViolation,
        ),
        ("UPDATE devices SET purposes = '{}'", psycopg.errors.CheckViolation),
        ("UPDATE devices SET latitude = 90.5", psycopg.errors.CheckViolation),
        ("UPDATE devices SET latitude = -91", psycopg.errors.CheckViolation),
        ("UPDATE devices SET longitude = 180.01", psycopg.errors.CheckViolation),
        ("UPDATE devices SET public_id = 'Not A Slug'", psycopg.errors.CheckViolation),
        ("UPDATE devices SET status = 'decommissioned'", psycopg.errors.CheckViolation),
        ("UPDATE devices SET legal_basis = 'because'", psycopg.errors.CheckViolation),
        ("UPDATE devices SET dev_eui = '70b3d57ed0001234'", psycopg.errors.CheckViolation),
        ("UPDATE device_metrics SET retention = interval '-1 day'", psycopg.errors.CheckViolation),
        (
            "UPDATE device_metrics SET personal = true, open_data = true",
            psycopg.errors.CheckViolation,
        ),
        ("UPDATE device_metrics SET unit = ''", psycopg.errors.CheckViolation),
        ("UPDATE organisations SET kind = 'council'", psycopg.errors.CheckViolation),
        ("UPDATE organisations SET contact_email = 'nobody'", psycopg.errors.CheckViolation),
        (
            "INSERT INTO devices (public_id, organisation_id, name, status, latitude,"
            " longitude, place, technology, purposes) SELECT public_id, organisation_id, name,"
            " status, latitude, longitude, place, technology, purposes FROM devices",
            psycopg.errors.UniqueViolation,
        ),
        (
            "INSERT INTO devices (public_id, organisation_id, name, status, latitude, longitude,"
            " place, technology, purposes) VALUES ('x', 9999, 'x', 'active', 0, 0, 'x',"
            " '{air_quality}', '{health}')",
            psycopg.errors.ForeignKeyViolation,
        ),
        (
            "INSERT INTO device_metrics (device_id, key, label, unit, retention)"
            " SELECT device_id, key, label, unit, retention FROM device_metrics",
            psycopg.errors.UniqueViolation,
        ),
        (
            "INSERT INTO audit_events (actor, entity, entity_id, action, changes)"
            " VALUES ('x', 'device', 1, 'delete', '{}')",
            psycopg.errors.CheckViolation,
        ),
        (
            "INSERT INTO quarantine (source, topic, payload, payload_size, reason, message)"
            " VALUES ('s', 't', '', 0, 'Bad Reason', 'm')",
            psycopg.errors.CheckViolation,
        ),
    ],
)
def test_a_statement_that_breaks_a_rule_fails(
    conn: Conn, statement: str, error: type[Exception]
) -> None:
    add_device(conn)
    conn.commit()
    with pytest.raises(error):
        conn.execute(statement)
    conn.rollback()
    # The register is as it was.
    assert conn.execute("SELECT status, cardinality(purposes) FROM devices").fetchall() == [
        ("active", 2)
    ]


def test_the_same_rows_pass_when_they_keep_the_rules(conn: Conn) -> None:
    add_device(conn)
    conn.execute("UPDATE devices SET status = 'decommissioned', decommissioned_on = '2026-10-01'")
    conn.execute("UPDATE device_metrics SET retention = interval '0'")
    conn.execute("UPDATE devices SET purposes = '{health,mobility,inform}', latitude = 90")
    conn.commit()
    assert conn.execute(
        "SELECT count(*) FROM devices WHERE status = 'decommissioned'"
    ).fetchone() == (1,)
