"""Migrations on a real PostgreSQL + TimescaleDB: in order, once, recorded, and guarded."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import psycopg
import pytest

from register.platform import db, queries
from register.platform.config import Settings
from register.stack.runtime import free_port
from tests.conftest import run_cli
from tests.register.factories import add_device


def test_upgrade_applies_every_migration_then_is_a_no_op(fresh_settings: Settings) -> None:
    with db.connect(fresh_settings) as conn:
        first = db.upgrade(conn)
        assert [m.version for m in first] == [m.version for m in db.available_migrations()]
        assert [m.version for m in first] == sorted(m.version for m in first)
        schema_before = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " ORDER BY 1"
        ).fetchall()
        assert db.upgrade(conn) == []
        schema_after = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " ORDER BY 1"
        ).fetchall()
        assert schema_after == schema_before
        recorded = queries.list_applied_migrations(conn)
        assert [r[0] for r in recorded] == [m.version for m in first]
        assert all(r[3] == m.checksum for r, m in zip(recorded, first, strict=True))


def test_timescaledb_is_created_and_readings_is_a_hypertable(fresh_settings: Settings) -> None:
    with db.connect(fresh_settings) as conn:
        assert db.timescaledb_version(conn) is None
        db.upgrade(conn)
        (version,) = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone() or (None,)
        assert version and version[0].isdigit()
        assert queries.is_hypertable(conn, "readings")
        assert not queries.is_hypertable(conn, "schema_migrations")


def test_readings_store_a_device_metric_time_triple_once(fresh_settings: Settings) -> None:
    when = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with db.connect(fresh_settings) as conn:
        db.upgrade(conn)
        add_device(conn)
        insert = (
            "INSERT INTO readings (time, device_id, metric_id, value) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING"
        )
        conn.execute(insert, (when, 1, 1, 21.5))
        conn.execute(insert, (when, 1, 1, 99.0))  # a redelivered message: no second row
        conn.execute(insert, (when, 1, 2, 40.0))  # another metric at the same time: its own row
        conn.commit()
        rows = conn.execute(
            "SELECT device_id, metric_id, value FROM readings ORDER BY 2"
        ).fetchall()
        assert rows == [(1, 1, 21.5), (1, 2, 40.0)]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO readings VALUES (%s, 1, 1, 0)", (when,))
        conn.rollback()


def test_readings_must_name_a_declared_metric_of_their_device(fresh_settings: Settings) -> None:
    with db.connect(fresh_settings) as conn:
        db.upgrade(conn)
        first = add_device(conn)
        second = add_device(conn, "camden-aq-0002")
        conn.commit()
        for device_id, metric_id in ((first, 999), (second, 1)):  # no such metric; not its metric
            with pytest.raises(psycopg.errors.ForeignKeyViolation):
                conn.execute(
                    "INSERT INTO readings VALUES (now(), %s, %s, 1)", (device_id, metric_id)
                )
            conn.rollback()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_readings_refuse_values_that_are_not_finite(fresh_settings: Settings, bad: float) -> None:
    with db.connect(fresh_settings) as conn:
        db.upgrade(conn)
        add_device(conn)
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO readings VALUES (now(), 1, 1, %s)", (bad,))


def test_an_edited_migration_stops_the_upgrade(fresh_settings: Settings) -> None:
    with db.connect(fresh_settings) as conn:
        db.upgrade(conn)
        conn.execute("UPDATE schema_migrations SET checksum = 'not-the-file' WHERE version = 2")
        conn.commit()
        with pytest.raises(db.DatabaseError, match="0002_readings changed after it was applied"):
            db.upgrade(conn)
        states = db.migration_status(conn)
        assert [s.migration.version for s in states if s.edited] == [2]


def test_concurrent_upgrades_apply_each_migration_once(fresh_settings: Settings) -> None:
    results: list[int] = []
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            with db.connect(fresh_settings) as conn:
                results.append(len(db.upgrade(conn)))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=upgrade) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(results) == [0, 0, len(db.available_migrations())]


def test_db_commands_upgrade_twice_and_report_status(fresh_settings: Settings) -> None:
    env = {"LAMPLIGHTER_DATABASE_URL": fresh_settings.database_url}
    pending = run_cli("db", "status", "--check", env=env)
    assert pending.returncode == 1
    assert "0002_readings" in pending.stdout and "pending" in pending.stdout
    first = run_cli("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied 0001_timescaledb" in first.stdout
    second = run_cli("db", "upgrade", env=env)
    assert second.returncode == 0, second.stderr
    assert "database is up to date" in second.stdout
    assert "applied 0" not in second.stdout
    status = run_cli("db", "status", "--check", env=env)
    assert status.returncode == 0
    assert "TimescaleDB 2." in status.stdout
    assert "pending" not in status.stdout


def test_an_unreachable_database_is_a_one_line_error(settings: Settings) -> None:
    url = f"postgresql://lamplighter@127.0.0.1:{free_port()}/lamplighter"
    result = run_cli(
        "db",
        "status",
        env={"LAMPLIGHTER_DATABASE_URL": url, "LAMPLIGHTER_DATABASE_CONNECT_TIMEOUT": "2"},
    )
    assert result.returncode == 1
    assert result.stderr.startswith("lamplighter: cannot connect to the database")
    assert "Traceback" not in result.stderr
