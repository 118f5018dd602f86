"""SQL for device credentials: issuing, revoking, and the active ones the broker files hold."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row

from register.queries import Conn


def revoke_active(conn: Conn, device_id: int, revoked_by: str) -> int:
    """End the device's working credential, if it has one; how many were ended (0 or 1)."""
    return conn.execute(
        "UPDATE device_credentials SET revoked_at = now(), revoked_by = %s"
        " WHERE device_id = %s AND revoked_at IS NULL",
        (revoked_by, device_id),
    ).rowcount


def insert_credential(conn: Conn, device_id: int, password_hash: str, issued_by: str) -> None:
    """A new working credential of the device (its earlier one already ended)."""
    conn.execute(
        "INSERT INTO device_credentials (device_id, password_hash, issued_by) VALUES (%s, %s, %s)",
        (device_id, password_hash, issued_by),
    )


def list_credentials(conn: Conn, organisation: str | None) -> list[dict[str, Any]]:
    """Every credential (working or revoked), of one organisation's devices or all, newest
    first within each device; never a hash."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT d.public_id, o.slug AS organisation, c.issued_at, c.issued_by,
                      c.revoked_at, c.revoked_by
                 FROM device_credentials c
                 JOIN devices d ON d.id = c.device_id
                 JOIN organisations o ON o.id = d.organisation_id
                WHERE %(org)s::text IS NULL OR o.slug = %(org)s
                ORDER BY d.public_id, c.issued_at DESC, c.id DESC""",
            {"org": organisation},
        ).fetchall()


def list_active_hashes(conn: Conn) -> list[tuple[str, str]]:
    """(username, password hash) of every working credential, by username: the broker's
    password file. A decommissioned device's credential is never among them."""
    rows = conn.execute(
        """SELECT d.public_id, c.password_hash
             FROM device_credentials c JOIN devices d ON d.id = c.device_id
            WHERE c.revoked_at IS NULL AND d.status <> 'decommissioned'
            ORDER BY d.public_id"""
    ).fetchall()
    return [(row[0], row[1]) for row in rows]


def get_active_credential(conn: Conn, device_id: int) -> dict[str, Any] | None:
    """When and by whom the device's working credential was issued; None when it has none (a
    decommissioned device's never counts). Never the hash."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT c.issued_at, c.issued_by
                 FROM device_credentials c JOIN devices d ON d.id = c.device_id
                WHERE c.device_id = %s AND c.revoked_at IS NULL
                  AND d.status <> 'decommissioned'""",
            (device_id,),
        ).fetchone()


def list_public_ids_with_active_credential(conn: Conn, public_ids: list[str]) -> set[str]:
    """Which of those devices have a working credential: one query for a whole list."""
    rows = conn.execute(
        """SELECT d.public_id
             FROM device_credentials c JOIN devices d ON d.id = c.device_id
            WHERE d.public_id = ANY(%s) AND c.revoked_at IS NULL
              AND d.status <> 'decommissioned'""",
        (public_ids,),
    ).fetchall()
    return {row[0] for row in rows}


def any_credential_issued(conn: Conn) -> bool:
    """Whether any device credential was ever issued (working or not since): from then on the
    embedded broker is closed to anonymous clients."""
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM device_credentials)").fetchone()
    return bool(row and row[0])


def take_snapshot(conn: Conn) -> None:
    """Make the transaction just begun read one snapshot of the register, for all its queries."""
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


@contextmanager
def broker_files_lock(conn: Conn, directory: str) -> Iterator[None]:
    """Hold the lock of one broker's files (a session lock: `conn` is in autocommit)."""
    key = f"broker_files:{directory}"
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))


def listen_for_changes(conn: Conn, channel: str) -> None:
    """Hear the notifications of `channel` on this (autocommit) connection."""
    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
