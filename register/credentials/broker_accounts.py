"""Broker accounts that are not devices: Lamplighter's own clients and the integrations an
administrator lets in, each with the topic filters it may read and write.

A LoRaWAN network server's MQTT integration (The Things Stack's Pub/Sub, ChirpStack's MQTT
integration) publishing uplinks into Lamplighter's broker is one; the ingester's account on a
production broker that reads its credentials from PostgreSQL is another. Only administrators
make them (the command line); the password is shown once and kept only as Mosquitto's `$7$`
hash. Adding an account under a name that has one replaces it, in the same transaction.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from register.credentials import mosquitto_hash
from register.platform import broker_clients
from register.queries import Conn
from register.queries import broker_accounts as queries

USERNAME = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+$")
USERNAME_RULE = (
    "lower-case letters, digits and dashes in parts joined by dots, with at least one dot "
    "(a device's public id has none), at most 64 characters: 'ttn.camden'"
)
# The accounts of Lamplighter's own clients on the embedded broker, which it keeps itself
# (register/stack/broker_access.py): no one replaces or ends them by hand.
OWN_PREFIX = "lamplighter."
# Characters that would change the meaning of an ACL line, or are not in a topic at all.
_NOT_IN_A_FILTER = re.compile(r"[\s\x00-\x1f\x7f%]")


class AccountError(Exception):
    """An account cannot be made or ended as asked; the message says why."""


@dataclass(frozen=True)
class Added:
    """An account just made: its password is shown once, never stored in clear."""

    username: str
    password: str
    replaced: bool


@dataclass(frozen=True)
class BrokerAccount:
    """A working account as the broker's files and views need it."""

    username: str
    password_hash: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]


def filter_problem(topic_filter: str) -> str | None:
    """Why `topic_filter` is not a plain MQTT topic filter an ACL may hold, or None."""
    if not topic_filter:
        return "a topic filter cannot be empty"
    if _NOT_IN_A_FILTER.search(topic_filter):
        return f"{topic_filter!r} has a blank, a control character or a '%' in it"
    if len(topic_filter.encode()) > 65535:
        return "a topic filter is at most 65,535 bytes"
    if topic_filter.startswith("$share/"):
        return f"{topic_filter!r}: give the topic itself; a shared subscription reads it"
    if "${" in topic_filter:
        return f"{topic_filter!r}: '${{' would be a placeholder to EMQX, which reads the same rules"
    return _wildcard_problem(topic_filter)


def _wildcard_problem(topic_filter: str) -> str | None:
    levels = topic_filter.split("/")
    for place, level in enumerate(levels):
        if "#" in level and (level != "#" or place != len(levels) - 1):
            return f"{topic_filter!r}: '#' must be a whole level, and the last"
        if "+" in level and level != "+":
            return f"{topic_filter!r}: '+' must be a whole level"
    return None


def _checked(username: str, reads: Sequence[str], writes: Sequence[str], purpose: str) -> None:
    if not USERNAME.match(username) or len(username) > 64:
        raise AccountError(f"{username!r} is not a broker account name: {USERNAME_RULE}")
    if not reads and not writes:
        raise AccountError("an account needs at least one topic filter to read or write")
    for topic_filter in (*reads, *writes):
        problem = filter_problem(topic_filter)
        if problem is not None:
            raise AccountError(problem)
    if not purpose.strip():
        raise AccountError("say what the account is for (its purpose)")


def _not_ours(username: str, own: bool) -> None:
    if username.startswith(OWN_PREFIX) and not own:
        raise AccountError(
            f"{username!r}: names that begin with {OWN_PREFIX!r} are the accounts of "
            "Lamplighter's own clients on the embedded broker, which it keeps itself; "
            "choose another name"
        )


def add(
    conn: Conn,
    username: str,
    *,
    reads: Sequence[str] = (),
    writes: Sequence[str] = (),
    purpose: str,
    by: str,
    password: str | None = None,
    own: bool = False,
) -> Added:
    """Make the account (a new password unless one is given), replacing a working one of that
    name. `own`: one of Lamplighter's own clients' accounts, which only it makes."""
    _checked(username, reads, writes, purpose)
    _not_ours(username, own)
    if password is None:
        password = secrets.token_urlsafe(broker_clients.PASSWORD_BYTES)
    queries.lock_name(conn, username)
    replaced = queries.revoke_active(conn, username, by) > 0
    queries.insert_account(
        conn,
        username,
        mosquitto_hash.hash_password(password),
        reads=sorted(set(reads)),
        writes=sorted(set(writes)),
        purpose=purpose.strip(),
        created_by=by,
    )
    return Added(username, password, replaced)


def keep(
    conn: Conn,
    username: str,
    password: str,
    *,
    reads: Sequence[str] = (),
    writes: Sequence[str] = (),
    purpose: str,
    by: str,
) -> bool:
    """Make sure one of Lamplighter's own accounts works with this password and exactly these
    filters; True when it had to be (re)made, False when it already was so."""
    queries.lock_name(conn, username)
    current = queries.active_account(conn, username)
    if (
        current is not None
        and sorted(current["reads"]) == sorted(set(reads))
        and sorted(current["writes"]) == sorted(set(writes))
        and mosquitto_hash.verify(password, current["password_hash"])
    ):
        return False
    add(
        conn,
        username,
        reads=reads,
        writes=writes,
        purpose=purpose,
        by=by,
        password=password,
        own=True,
    )
    return True


def revoke(conn: Conn, username: str, by: str, *, own: bool = False) -> bool:
    """End the working account of that name; False when there was none."""
    _not_ours(username, own)
    queries.lock_name(conn, username)
    return queries.revoke_active(conn, username, by) > 0


def list_accounts(conn: Conn) -> list[dict[str, Any]]:
    """Every account, working or revoked, with its filters and who made and ended it."""
    return queries.list_accounts(conn)


def active(conn: Conn) -> list[BrokerAccount]:
    """Every working account, by username."""
    return [
        BrokerAccount(username, password_hash, tuple(reads), tuple(writes))
        for username, password_hash, reads, writes in queries.active_accounts(conn)
    ]
