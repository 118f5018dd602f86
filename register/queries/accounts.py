"""SQL for accounts: users, one-time password links, sessions and failed logins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from register.queries import Conn, returned_id

_USER = """
    SELECT u.id, u.email, u.display_name, u.role, u.password_hash, u.disabled_at, u.created_at,
           o.slug AS organisation, o.name AS organisation_name, u.organisation_id
    FROM users u JOIN organisations o ON o.id = u.organisation_id
"""


def insert_user(conn: Conn, organisation_id: int, email: str, display_name: str, role: str) -> int:
    return returned_id(
        conn.execute(
            "INSERT INTO users (organisation_id, email, display_name, role)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            (organisation_id, email, display_name, role),
        ).fetchone()
    )


def get_user_by_email(conn: Conn, email: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_USER + " WHERE lower(u.email) = lower(%s)", (email,)).fetchone()


def get_user(conn: Conn, user_id: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_USER + " WHERE u.id = %s", (user_id,)).fetchone()


def list_users(conn: Conn, organisation: str | None) -> list[dict[str, Any]]:
    """Every account (or one organisation's), with its last sign-in while its session is kept."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT u.id, u.email, u.display_name, u.role, u.password_hash, u.disabled_at,
                      u.created_at, o.slug AS organisation, o.name AS organisation_name,
                      u.organisation_id,
                      (SELECT max(s.created_at) FROM user_sessions s WHERE s.user_id = u.id)
                          AS last_signed_in_at
                 FROM users u JOIN organisations o ON o.id = u.organisation_id
                WHERE %(org)s::text IS NULL OR o.slug = %(org)s
                ORDER BY o.slug, u.email""",
            {"org": organisation},
        ).fetchall()


def set_password_hash(conn: Conn, user_id: int, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = %s WHERE id = %s", (password_hash, user_id))


def disable_user(conn: Conn, user_id: int) -> None:
    conn.execute(
        "UPDATE users SET disabled_at = coalesce(disabled_at, now()) WHERE id = %s", (user_id,)
    )


def insert_password_link(conn: Conn, user_id: int, token_hash: bytes, expires_at: datetime) -> None:
    # A new link replaces any earlier one that has not been used.
    conn.execute(
        "UPDATE password_links SET used_at = now() WHERE user_id = %s AND used_at IS NULL",
        (user_id,),
    )
    conn.execute(
        "INSERT INTO password_links (user_id, token_hash, expires_at) VALUES (%s, %s, %s)",
        (user_id, token_hash, expires_at),
    )


def use_password_link(conn: Conn, token_hash: bytes) -> int | None:
    """Mark an unused, unexpired link used; its account's id, or None when there is none."""
    row = conn.execute(
        """UPDATE password_links l SET used_at = now()
             FROM users u
            WHERE l.token_hash = %s AND l.used_at IS NULL AND l.expires_at > now()
              AND u.id = l.user_id AND u.disabled_at IS NULL
        RETURNING l.user_id""",
        (token_hash,),
    ).fetchone()
    return None if row is None else int(row[0])


def find_password_link(conn: Conn, token_hash: bytes) -> int | None:
    """The account of an unused, unexpired link, without using it."""
    row = conn.execute(
        """SELECT l.user_id FROM password_links l JOIN users u ON u.id = l.user_id
            WHERE l.token_hash = %s AND l.used_at IS NULL AND l.expires_at > now()
              AND u.disabled_at IS NULL""",
        (token_hash,),
    ).fetchone()
    return None if row is None else int(row[0])


def insert_session(conn: Conn, user_id: int, token_hash: bytes, csrf_token: str) -> None:
    conn.execute(
        "INSERT INTO user_sessions (user_id, token_hash, csrf_token) VALUES (%s, %s, %s)",
        (user_id, token_hash, csrf_token),
    )


def touch_session(conn: Conn, token_hash: bytes, idle_seconds: float) -> dict[str, Any] | None:
    """The session's account and form token, if it is open, not idle for longer than
    `idle_seconds`, and its account not disabled; its last use is moved to now."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """UPDATE user_sessions s SET last_seen_at = now()
                 FROM users u
                WHERE s.token_hash = %s AND s.ended_at IS NULL
                  AND s.last_seen_at > now() - make_interval(secs => %s)
                  AND u.id = s.user_id AND u.disabled_at IS NULL
            RETURNING s.user_id, s.csrf_token""",
            (token_hash, idle_seconds),
        ).fetchone()


def end_session(conn: Conn, token_hash: bytes) -> None:
    conn.execute(
        "UPDATE user_sessions SET ended_at = now() WHERE token_hash = %s AND ended_at IS NULL",
        (token_hash,),
    )


def end_user_sessions(conn: Conn, user_id: int) -> int:
    return conn.execute(
        "UPDATE user_sessions SET ended_at = now() WHERE user_id = %s AND ended_at IS NULL",
        (user_id,),
    ).rowcount


# The two-integer advisory lock space of sign-in attempts: (this, a hash of the account or address).
SIGN_IN_LOCKS = 0x4C4F474E


def lock_login(conn: Conn, email: str, address: str) -> None:
    """Wait for other sign-ins to this account or from this address to finish (transaction
    advisory locks, released at commit)."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(%(space)s, hashtext('login:' || lower(%(email)s))),"
        " pg_advisory_xact_lock(%(space)s, hashtext('address:' || %(address)s))",
        {"space": SIGN_IN_LOCKS, "email": email, "address": address},
    )


def insert_login_failure(conn: Conn, email: str, address: str) -> None:
    conn.execute("INSERT INTO login_failures (email, address) VALUES (%s, %s)", (email, address))


def count_login_failures(conn: Conn, email: str, address: str, since: datetime) -> tuple[int, int]:
    """Failed logins since `since`: for this account, and from this address."""
    row = conn.execute(
        """SELECT (SELECT count(*) FROM login_failures
                    WHERE lower(email) = lower(%(email)s) AND at > %(since)s),
                  (SELECT count(*) FROM login_failures
                    WHERE address = %(address)s AND at > %(since)s)""",
        {"email": email, "address": address, "since": since},
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def get_organisation_id(conn: Conn, slug: str) -> int | None:
    row = conn.execute("SELECT id FROM organisations WHERE slug = %s", (slug,)).fetchone()
    return None if row is None else int(row[0])


def delete_old_sign_in_records(conn: Conn, older_than: datetime, limit: int) -> int:
    """Delete up to `limit` records that no longer count for anything: failed logins, sessions
    ended or idle, and password links used or expired, all from before `older_than`."""
    deleted = 0
    for statement in (
        "DELETE FROM login_failures WHERE id = ANY(ARRAY("
        " SELECT id FROM login_failures WHERE at < %(older_than)s LIMIT %(limit)s))",
        "DELETE FROM user_sessions WHERE id = ANY(ARRAY("
        " SELECT id FROM user_sessions WHERE coalesce(ended_at, last_seen_at) < %(older_than)s"
        " LIMIT %(limit)s))",
        "DELETE FROM password_links WHERE id = ANY(ARRAY("
        " SELECT id FROM password_links WHERE coalesce(used_at, expires_at) < %(older_than)s"
        " LIMIT %(limit)s))",
    ):
        deleted += conn.execute(statement, {"older_than": older_than, "limit": limit}).rowcount
    return deleted
