"""Creating and managing accounts, and setting a password through a one-time link.

An account belongs to one organisation and has a role: an `engineer` keeps that organisation's
devices; an `admin` also manages organisations and accounts. No password ever appears on a
command line: `add_user` and `reset_user` return a one-time link's secret, which sets the
password and expires after LINK_LIFETIME.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from register.accounts import passwords, tokens
from register.audit import Actor, NotAllowed
from register.queries import Conn
from register.queries import accounts as queries

ROLES = ("engineer", "admin")
LINK_LIFETIME = timedelta(hours=48)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(Exception):
    """An account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    email: str
    display_name: str
    role: str
    organisation: str
    organisation_name: str
    organisation_id: int

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def actor(self) -> Actor:
        """Who this person is in the audit log; they change their own organisation's entries."""
        return Actor(
            label=f"{self.display_name} <{self.email}>",
            user_id=self.id,
            organisation_id=self.organisation_id,
        )

    def administrator(self) -> Actor:
        """An administrator acting on organisations and accounts across the register."""
        if not self.is_admin:
            raise NotAllowed("only the register's administrators may do this")
        return Actor(label=f"{self.display_name} <{self.email}> (administrator)", user_id=self.id)


def user_from_row(row: dict[str, Any]) -> User:
    return User(
        row["id"],
        row["email"],
        row["display_name"],
        row["role"],
        row["organisation"],
        row["organisation_name"],
        row["organisation_id"],
    )


def add_user(
    conn: Conn, *, organisation: str, email: str, role: str, display_name: str = ""
) -> tuple[int, str]:
    """Create an account without a password; its id and the secret of its one-time link."""
    email = email.strip()
    if not EMAIL.match(email):
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    organisation_id = queries.get_organisation_id(conn, organisation)
    if organisation_id is None:
        raise AccountError(f"there is no organisation {organisation!r}")
    if queries.get_user_by_email(conn, email) is not None:
        raise AccountError(f"an account for {email} already exists")
    user_id = queries.insert_user(
        conn, organisation_id, email, display_name.strip() or email.split("@")[0], role
    )
    return user_id, _new_link(conn, user_id)


def reset_user(conn: Conn, email: str) -> str:
    """A new one-time link that sets the account's password (the old password still works
    until the link is used); its secret."""
    row = queries.get_user_by_email(conn, email)
    if row is None:
        raise AccountError(f"there is no account for {email}")
    if row["disabled_at"] is not None:
        raise AccountError(f"the account for {email} is disabled")
    return _new_link(conn, row["id"])


def disable_user(conn: Conn, email: str) -> int:
    """Disable the account and end its open sessions; how many sessions ended."""
    row = queries.get_user_by_email(conn, email)
    if row is None:
        raise AccountError(f"there is no account for {email}")
    queries.disable_user(conn, row["id"])
    return queries.end_user_sessions(conn, row["id"])


def list_users(conn: Conn, organisation: str | None = None) -> list[dict[str, Any]]:
    return queries.list_users(conn, organisation)


def link_is_valid(conn: Conn, secret: str) -> bool:
    return queries.find_password_link(conn, tokens.digest(secret)) is not None


def set_password_with_link(conn: Conn, secret: str, password: str) -> int:
    """Set the password of the link's account and use the link up; the account's id. Raises
    AccountError when the password is too weak or the link is unknown, used or expired."""
    weakness = passwords.weakness(password)
    if weakness is not None:
        raise AccountError(f"the password {weakness}")
    user_id = queries.use_password_link(conn, tokens.digest(secret))
    if user_id is None:
        raise AccountError("this link has expired or has already been used; ask for a new one")
    queries.set_password_hash(conn, user_id, passwords.hash_password(password))
    # Whoever knew the old password is signed out.
    queries.end_user_sessions(conn, user_id)
    return user_id


def _new_link(conn: Conn, user_id: int) -> str:
    secret = tokens.new_secret()
    queries.insert_password_link(
        conn, user_id, tokens.digest(secret), datetime.now(UTC) + LINK_LIFETIME
    )
    return secret
