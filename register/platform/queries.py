"""SQL for migrations and the database itself: one function per statement."""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[Any]


def create_migrations_table(conn: Conn) -> None:
    """Create the table that records applied migrations, if it is missing."""
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            checksum   text NOT NULL
        )
        """
    )


def migrations_table_exists(conn: Conn) -> bool:
    """Whether the migrations table has been created yet."""
    row = conn.execute("SELECT to_regclass('public.schema_migrations') IS NOT NULL").fetchone()
    return bool(row and row[0])


def list_applied_migrations(conn: Conn) -> list[tuple[int, str, Any, str]]:
    """Every applied migration as (version, name, applied_at, checksum), oldest first."""
    return conn.execute(
        "SELECT version, name, applied_at, checksum FROM schema_migrations ORDER BY version"
    ).fetchall()


def record_migration(conn: Conn, version: int, name: str, checksum: str) -> None:
    """Record that a migration has been applied."""
    conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
        (version, name, checksum),
    )


def lock_migrations(conn: Conn, key: int) -> None:
    """Wait for the session-level advisory lock that serialises migration runs."""
    conn.execute("SELECT pg_advisory_lock(%s)", (key,))


def unlock_migrations(conn: Conn, key: int) -> None:
    """Release the migration lock."""
    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


def get_extension_version(conn: Conn, name: str) -> str | None:
    """The version of an installed extension, or None when it is not created."""
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s", (name,)).fetchone()
    return None if row is None else str(row[0])


def is_hypertable(conn: Conn, table: str) -> bool:
    """Whether a table in the public schema is a TimescaleDB hypertable."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM timescaledb_information.hypertables"
        " WHERE hypertable_schema = 'public' AND hypertable_name = %s)",
        (table,),
    ).fetchone()
    return bool(row and row[0])


def database_exists(conn: Conn, name: str) -> bool:
    """Whether a database of this name exists on the server."""
    row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def drop_database(conn: Conn, name: str) -> None:
    """Drop a database if it exists, ending its sessions (autocommit mode needed)."""
    conn.execute(
        psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            psycopg.sql.Identifier(name)
        )
    )


def create_database(conn: Conn, name: str, owner: str) -> None:
    """Create a database (the connection must be in autocommit mode)."""
    conn.execute(
        psycopg.sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
            psycopg.sql.Identifier(name), psycopg.sql.Identifier(owner)
        )
    )


def begin_snapshot(conn: Conn, *, read_only: bool) -> None:
    """Make the transaction just begun read one snapshot of the database throughout."""
    mode = ", READ ONLY" if read_only else ""
    conn.execute(f"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ{mode}")
