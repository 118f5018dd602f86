"""The database's connection lifecycle: connections, the pool, transactions and migrations.

Views, jobs and the ingester never open connections of their own; they come here. Migrations
are the numbered SQL files in `register/platform/migrations/`, applied in order, each in its own
transaction, and recorded in `schema_migrations` with a checksum so that an edited migration is
noticed instead of silently skipped.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from register.platform import queries
from register.platform.config import Settings

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any constant works; it only has to be the same for every process that migrates this database.
MIGRATION_LOCK_KEY = 0x4C414D50


# For connections that sit idle for long (a LISTEN): notice a dead peer within about 20 s
# instead of the kernel's default of hours.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 2,
    "tcp_user_timeout": 20000,
}


class DatabaseError(Exception):
    """The database cannot be reached or is not in the state Lamplighter needs."""


def connect(settings: Settings, **kwargs: Any) -> psycopg.Connection[Any]:
    """Open one connection, for the command line, the jobs and the ingester's own threads."""
    try:
        return psycopg.connect(
            settings.database_url, connect_timeout=settings.database.connect_timeout, **kwargs
        )
    except psycopg.OperationalError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
        raise DatabaseError(f"cannot connect to the database: {first_line}") from None


def create_pool(
    settings: Settings, *, name: str, statement_timeout: float | None = None
) -> ConnectionPool:
    """A connection pool for a long-running process; the caller closes it.

    It connects in the background, so a process starts (and can say the database is down)
    even while the database is unreachable. `statement_timeout` (seconds) cancels any statement
    that runs longer.
    """
    kwargs: dict[str, Any] = {"connect_timeout": settings.database.connect_timeout, **KEEPALIVES}
    if statement_timeout is not None:
        kwargs["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
    return ConnectionPool(
        settings.database_url,
        min_size=settings.database.pool_min,
        max_size=settings.database.pool_max,
        kwargs=kwargs,
        name=name,
        open=True,
    )


@contextmanager
def transaction(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """Run a block in one transaction: commit at the end, roll back on an exception."""
    with conn.transaction():
        yield conn


@contextmanager
def snapshot(
    conn: psycopg.Connection[Any], *, read_only: bool = False
) -> Iterator[psycopg.Connection[Any]]:
    """Run a block in one transaction that reads one snapshot of the database throughout
    (REPEATABLE READ); a write that conflicts with a concurrent change raises
    SerializationFailure. Begin it outside any transaction."""
    with conn.transaction():
        queries.begin_snapshot(conn, read_only=read_only)
        yield conn


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class MigrationState:
    migration: Migration
    applied_at: Any | None
    recorded_checksum: str | None

    @property
    def applied(self) -> bool:
        return self.applied_at is not None

    @property
    def edited(self) -> bool:
        """True when the file changed after it was applied: never edit a landed migration."""
        return self.applied and self.recorded_checksum != self.migration.checksum


def available_migrations() -> list[Migration]:
    """The migration files shipped with the package, in version order."""
    found = []
    for entry in resources.files("register.platform.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise DatabaseError(f"two migration files share a version number: {versions}")
    return found


def migration_status(conn: psycopg.Connection[Any]) -> list[MigrationState]:
    """Every known migration with whether, when and in what form it was applied."""
    with transaction(conn):
        rows = (
            queries.list_applied_migrations(conn) if queries.migrations_table_exists(conn) else []
        )
    applied = {row[0]: row for row in rows}
    states = []
    for migration in available_migrations():
        row = applied.get(migration.version)
        states.append(MigrationState(migration, row[2] if row else None, row[3] if row else None))
    return states


def upgrade(conn: psycopg.Connection[Any]) -> list[Migration]:
    """Apply every pending migration in order; return the ones applied (none on a re-run)."""
    applied_now: list[Migration] = []
    # One upgrader at a time: a second process waits here, then finds nothing left to do. The
    # lock is the session's, so it is committed at once (with anything the caller left open).
    queries.lock_migrations(conn, MIGRATION_LOCK_KEY)
    conn.commit()
    try:
        with transaction(conn):
            queries.create_migrations_table(conn)
        for state in migration_status(conn):
            if state.edited:
                raise DatabaseError(
                    f"migration {state.migration.version:04d}_{state.migration.name} changed "
                    "after it was applied; add a new migration instead of editing a landed one"
                )
            if state.applied:
                continue
            migration = state.migration
            log.debug("applying migration %04d_%s", migration.version, migration.name)
            with transaction(conn):
                conn.execute("SET LOCAL client_min_messages = warning")
                conn.execute(migration.sql.encode())
                queries.record_migration(
                    conn, migration.version, migration.name, migration.checksum
                )
            applied_now.append(migration)
    finally:
        conn.rollback()  # whatever a failed step left open
        queries.unlock_migrations(conn, MIGRATION_LOCK_KEY)
        conn.commit()
    return applied_now


def timescaledb_version(conn: psycopg.Connection[Any]) -> str | None:
    """The installed TimescaleDB extension's version, or None when it is not created."""
    with transaction(conn):
        return queries.get_extension_version(conn, "timescaledb")
