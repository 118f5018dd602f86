"""Creating and managing accounts, and setting a password through a one-time link.

An account belongs to one organisation and has a role: an `engineer` keeps that organisation's
devices; an `admin` also manages organisations and accounts. No password ever appears on a
command line: `add_user` and `reset_user` return a one-time link's secret, which sets the
password and expires after LINK_LIFETIME.

Adding an account, issuing it a link and disabling it each leave an audit event (entity
`user`), naming the actor and never the link: the command line's when no actor is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from register import audit
from register.accounts import passwords, tokens
from register.audit import Actor, NotAllowed
from register.queries import Conn
from register.queries import accounts as queries

ROLES = ("engineer", "admin")
LINK_LIFETIME = timedelta(hours=48)
LINK_HOURS = int(LINK_LIFETIME.total_seconds() // 3600)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LONGEST_NAME = 200


class AccountError(Exception):
    """An account cannot be created or changed as asked; the message says why, and `field`
    names the field of an account's form at fault ("" for none)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


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
    conn: Conn,
    *,
    organisation: str,
    email: str,
    role: str,
    display_name: str = "",
    actor: Actor | None = None,
) -> tuple[int, str]:
    """Create an account without a password; its id and the secret of its one-time link."""
    actor = actor or Actor.command_line()
    email = email.strip()
    display_name = display_name.strip() or email.split("@")[0]
    if not EMAIL.match(email):
        raise AccountError(f"{email!r} is not an email address", "email")
    if len(display_name) > LONGEST_NAME:
        raise AccountError(
            f"the name is too long ({LONGEST_NAME} characters at most)", "display_name"
        )
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}", "role")
    organisation_id = queries.get_organisation_id(conn, organisation)
    if organisation_id is None:
        raise AccountError(f"there is no organisation {organisation!r}", "organisation")
    actor.check_may_write(organisation_id, organisation)
    if queries.get_user_by_email(conn, email) is not None:
        raise AccountError(f"an account for {email} already exists", "email")
    try:
        # A savepoint: the same address may be added by someone else at the same moment.
        with conn.transaction():
            user_id = queries.insert_user(conn, organisation_id, email, display_name, role)
    except psycopg.errors.UniqueViolation:
        raise AccountError(f"an account for {email} already exists", "email") from None
    added = {"email": email, "display_name": display_name, "role": role}
    account = {"id": user_id, "organisation_id": organisation_id}
    _record(conn, actor, account, "create", changes=audit.diff(None, added))
    return user_id, _new_link(conn, user_id)


def get_account(conn: Conn, user_id: int) -> dict[str, Any] | None:
    """One account by id, with its organisation and state (None when there is none)."""
    return queries.get_user(conn, user_id)


def reset_user(conn: Conn, email: str, *, actor: Actor | None = None) -> str:
    """A new one-time link that sets the account's password (the old password still works
    until the link is used); its secret."""
    actor = actor or Actor.command_line()
    row = _account_to_change(conn, email, actor)
    if row["disabled_at"] is not None:
        raise AccountError(f"the account for {email} is disabled")
    secret = _new_link(conn, row["id"])
    note = f"a new one-time link that sets the password, valid for {LINK_HOURS} hours"
    _record(conn, actor, row, "reset_password", note=note)
    return secret


def disable_user(conn: Conn, email: str, *, actor: Actor | None = None) -> int:
    """Disable the account and end its open sessions; how many sessions ended. Nobody may
    disable their own account: the register is never left without a way in by accident."""
    actor = actor or Actor.command_line()
    row = _account_to_change(conn, email, actor)
    if actor.user_id is not None and actor.user_id == row["id"]:
        raise AccountError(
            "you cannot disable your own account; ask another administrator to do it"
        )
    if row["disabled_at"] is None:
        queries.disable_user(conn, row["id"])
        _record(conn, actor, row, "disable", changes={"disabled": {"before": False, "after": True}})
    return queries.end_user_sessions(conn, row["id"])


def list_users(conn: Conn, organisation: str | None = None) -> list[dict[str, Any]]:
    return queries.list_users(conn, organisation)


def account_of_link(conn: Conn, secret: str) -> User | None:
    """The account an unused, unexpired link sets the password of (without using the link)."""
    user_id = queries.find_password_link(conn, tokens.digest(secret))
    row = None if user_id is None else queries.get_user(conn, user_id)
    return None if row is None else user_from_row(row)


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


def _account_to_change(conn: Conn, email: str, actor: Actor) -> dict[str, Any]:
    """The account for this email, which the actor may change; AccountError when there is none."""
    row = queries.get_user_by_email(conn, email)
    if row is None:
        raise AccountError(f"there is no account for {email}")
    actor.check_may_write(row["organisation_id"], row["organisation_name"])
    return row


def _record(
    conn: Conn,
    actor: Actor,
    account: dict[str, Any],
    action: str,
    *,
    changes: dict[str, Any] | None = None,
    note: str = "",
) -> None:
    """The audit event of a change to an account (its id and organisation_id); never a secret."""
    audit.record(
        conn,
        actor,
        entity="user",
        entity_id=account["id"],
        organisation_id=account["organisation_id"],
        action=action,
        changes=changes or {},
        note=note,
    )
