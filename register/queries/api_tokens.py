"""SQL for API tokens: each of one organisation, stored as a SHA-256 of its secret."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from register.queries import Conn, returned_id

_SELECT = """
    SELECT t.id, t.name, t.prefix, t.created_at, t.expires_at, t.last_used_at, t.revoked_at,
           t.created_by, t.created_by_label, t.organisation_id,
           o.slug AS organisation, o.name AS organisation_name
    FROM api_tokens t JOIN organisations o ON o.id = t.organisation_id
"""


def insert_api_token(
    conn: Conn,
    *,
    organisation_id: int,
    name: str,
    prefix: str,
    token_hash: bytes,
    expires_at: datetime | None,
    created_by: int | None,
    created_by_label: str,
) -> int:
    return returned_id(
        conn.execute(
            """INSERT INTO api_tokens (organisation_id, name, prefix, token_hash, expires_at,
                                       created_by, created_by_label)
               VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (organisation_id, name, prefix, token_hash, expires_at, created_by, created_by_label),
        ).fetchone()
    )


def find_api_token(conn: Conn, token_hash: bytes) -> dict[str, Any] | None:
    """The token of this hash, whatever its state, with its organisation."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_SELECT + " WHERE t.token_hash = %s", (token_hash,)).fetchone()


def get_api_token(conn: Conn, token_id: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_SELECT + " WHERE t.id = %s", (token_id,)).fetchone()


def list_api_tokens(conn: Conn, organisation: str | None) -> list[dict[str, Any]]:
    """Tokens, newest first, of one organisation (by slug) or of all."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            _SELECT + " WHERE %(org)s::text IS NULL OR o.slug = %(org)s"
            " ORDER BY o.slug, t.created_at DESC, t.id DESC",
            {"org": organisation},
        ).fetchall()


def touch_api_token(conn: Conn, token_id: int, every_seconds: float) -> None:
    """Record the token's use, unless that was already done in the last `every_seconds`: one
    write a minute, not one a request."""
    conn.execute(
        """UPDATE api_tokens SET last_used_at = now()
            WHERE id = %s
              AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => %s))""",
        (token_id, every_seconds),
    )


def revoke_api_token(conn: Conn, token_id: int) -> bool:
    """End a token; False when it had already ended."""
    return (
        conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL",
            (token_id,),
        ).rowcount
        == 1
    )
