"""Server-side sessions for signed-in browsers.

The cookie holds a random secret; the database keeps its SHA-256, the form token that protects
the session's forms against cross-site requests, and when it was last used. A session ends at
logout, when its account is disabled, or after `idle_seconds` without a request. Each login
starts a fresh session (a new secret), so a secret planted before the login is worth nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from register.accounts import tokens
from register.accounts.users import User, user_from_row
from register.queries import Conn
from register.queries import accounts as queries


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


def start(conn: Conn, user: User) -> str:
    """Open a session for the account; the secret for its cookie."""
    secret = tokens.new_secret()
    queries.insert_session(conn, user.id, tokens.digest(secret), tokens.new_secret())
    return secret


def find(conn: Conn, secret: str, idle_seconds: float) -> Session | None:
    """The open session of this secret, its last use moved to now; None when there is none."""
    found = queries.touch_session(conn, tokens.digest(secret), idle_seconds)
    if found is None:
        return None
    row = queries.get_user(conn, found["user_id"])
    if row is None:
        return None
    return Session(user_from_row(row), found["csrf_token"])


def end(conn: Conn, secret: str) -> None:
    queries.end_session(conn, tokens.digest(secret))
