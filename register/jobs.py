"""The register's jobs: plain functions that take a connection and the settings and say what
they did, in a line for a person, or None when there was nothing to do. Tests call them
directly; whatever runs them only runs them.

Today's jobs keep derived data up to date, and `lamplighter db upgrade` and `lamplighter up`
run them once the migrations are applied (`AFTER_UPGRADE`). Nothing runs jobs on a schedule
yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from register import exports
from register.platform.config import Settings
from register.queries import Conn


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Conn, Settings], str | None]


def store_export_rows(conn: Conn, settings: Settings) -> str | None:
    """Store the devices' export rows that are missing or outdated (after a bulk load by COPY,
    or when their encoding changed), so that downloads need not encode them each time."""
    stored = exports.store_missing_rows(conn)
    return f"stored the export rows of {stored} devices" if stored else None


AFTER_UPGRADE = (Job("store_export_rows", store_export_rows),)


def run_after_upgrade(conn: Conn, settings: Settings) -> list[str]:
    """Run every job that follows a migration, in order; what each did, for the ones that did."""
    return [said for job in AFTER_UPGRADE if (said := job.run(conn, settings)) is not None]
