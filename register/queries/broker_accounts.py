"""SQL for the broker accounts that are not devices (migration 0015)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg.rows import dict_row

from register.queries import Conn


def lock_name(conn: Conn, username: str) -> None:
    """Serialise changes to one username, so two adds at once leave one working account."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('broker_account:' || %s))", (username,))


def active_account(conn: Conn, username: str) -> dict[str, Any] | None:
    """The working account of that name, with its hash and filters; None when there is none."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, username, password_hash, reads, writes, purpose FROM broker_accounts"
            " WHERE username = %s AND revoked_at IS NULL",
            (username,),
        ).fetchone()


def revoke_active(conn: Conn, username: str, revoked_by: str) -> int:
    """End the working account of that name; how many were ended (0 or 1)."""
    return conn.execute(
        "UPDATE broker_accounts SET revoked_at = now(), revoked_by = %s"
        " WHERE username = %s AND revoked_at IS NULL",
        (revoked_by, username),
    ).rowcount


def insert_account(
    conn: Conn,
    username: str,
    password_hash: str,
    *,
    reads: Sequence[str],
    writes: Sequence[str],
    purpose: str,
    created_by: str,
) -> None:
    """A new working account (a working one of that name already ended)."""
    conn.execute(
        "INSERT INTO broker_accounts (username, password_hash, reads, writes, purpose, created_by)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (username, password_hash, list(reads), list(writes), purpose, created_by),
    )


def list_accounts(conn: Conn) -> list[dict[str, Any]]:
    """Every account, working or revoked, newest first within a name; never a hash."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT username, reads, writes, purpose, created_at, created_by,
                      revoked_at, revoked_by
                 FROM broker_accounts ORDER BY username, created_at DESC, id DESC"""
        ).fetchall()


def active_accounts(conn: Conn) -> list[tuple[str, str, list[str], list[str]]]:
    """(username, hash, reads, writes) of every working account, by username."""
    rows = conn.execute(
        "SELECT username, password_hash, reads, writes FROM broker_accounts"
        " WHERE revoked_at IS NULL ORDER BY username"
    ).fetchall()
    return [(row[0], row[1], list(row[2]), list(row[3])) for row in rows]


def register_has_accounts(conn: Conn) -> bool:
    """Whether the database has been brought up to the broker accounts (migration 0015)."""
    row = conn.execute("SELECT to_regclass('broker_accounts') IS NOT NULL").fetchone()
    return bool(row and row[0])
