"""The register's jobs, called directly as plain functions."""

from __future__ import annotations

from register.jobs import catalogue
from register.platform.config import Settings
from register.queries import Conn
from tests.register.test_imports import seed


def test_the_jobs_after_an_upgrade_store_missing_export_rows_once(
    conn: Conn, migrated_settings: Settings
) -> None:
    seed(conn)
    with conn.transaction():
        conn.execute("DELETE FROM device_exports")
    conn.commit()  # a job runs outside any transaction, as the commands run it
    assert catalogue.run_after_upgrade(conn, migrated_settings) == [
        "stored the export rows of 4 devices"
    ]
    with conn.transaction():
        assert conn.execute("SELECT count(*) FROM device_exports").fetchone() == (4,)
    assert catalogue.run_after_upgrade(conn, migrated_settings) == []
