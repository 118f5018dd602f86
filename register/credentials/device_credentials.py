"""Issuing and revoking a device's MQTT credential, scoped like every change to a device.

The username is the device's public id; the password is random, shown once, and kept only as
Mosquitto's `$7$` hash. Issuing a new credential revokes the old one, in the same transaction,
so a device never has two. A decommissioned device gets none (`register.devices` revokes its
credential when it is decommissioned). The table's trigger notifies `broker_credentials_changed`
at every change (migration 0014), so the broker's files can follow within seconds.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from register.audit import Actor
from register.credentials import broker_files, mosquitto_hash
from register.platform import broker_clients
from register.queries import Conn, registry
from register.queries import credentials as queries


class CredentialError(Exception):
    """A credential cannot be issued or revoked as asked; the message says why."""


class UnknownDevice(CredentialError):
    """No device has that public id."""


@dataclass(frozen=True)
class Issued:
    """A credential just issued: shown once, never stored in clear."""

    username: str
    password: str
    replaced: bool
    # The topics it may publish to: its own, under its organisation's slug.
    topics: tuple[str, ...] = ()
    # The register's first device credential: from now on the embedded broker refuses
    # anonymous clients (register/credentials/broker_files.py).
    first: bool = False


@dataclass(frozen=True)
class Current:
    """A device's credential as it stands: whether one works, and when and by whom it was
    issued (None when none works). Never a password or a hash."""

    username: str
    active: bool
    issued_at: datetime | None = None
    issued_by: str | None = None


def _device(conn: Conn, public_id: str, actor: Actor) -> dict[str, Any]:
    """The device, locked, after checking the actor may change it."""
    row = registry.get_device_row(conn, public_id, lock=True)
    if row is None:
        raise UnknownDevice(f"there is no device {public_id!r} in the register")
    actor.check_may_write(row["organisation_id"], row["organisation"])
    return row


def issue(conn: Conn, public_id: str, actor: Actor) -> Issued:
    """A new credential for the device, replacing its working one if it has one."""
    device = _device(conn, public_id, actor)
    if device["status"] == "decommissioned":
        raise CredentialError(f"device {public_id} is decommissioned; it gets no credential")
    password = secrets.token_urlsafe(broker_clients.PASSWORD_BYTES)
    first = not queries.any_credential_issued(conn)
    replaced = queries.revoke_active(conn, device["id"], actor.label) > 0
    queries.insert_credential(
        conn, device["id"], mosquitto_hash.hash_password(password), actor.label
    )
    return Issued(
        public_id, password, replaced, topics_of(device["organisation"], public_id), first
    )


def revoke(conn: Conn, public_id: str, actor: Actor) -> bool:
    """End the device's working credential; False when it had none."""
    device = _device(conn, public_id, actor)
    return revoke_of_device(conn, device["id"], actor)


def revoke_of_device(conn: Conn, device_id: int, actor: Actor) -> bool:
    """End a device's working credential (its organisation already checked by the caller)."""
    return queries.revoke_active(conn, device_id, actor.label) > 0


def list_credentials(conn: Conn, organisation: str | None = None) -> list[dict[str, Any]]:
    """Every credential, working or revoked, of an organisation's devices (or all): who issued
    it and when, and when it ended. Never a password or a hash."""
    return queries.list_credentials(conn, organisation)


def current(conn: Conn, public_id: str, actor: Actor) -> Current:
    """Whether the device has a working credential, and when and by whom it was issued; scoped
    like issuing, since it names who issued it."""
    row = registry.get_device_row(conn, public_id)
    if row is None:
        raise UnknownDevice(f"there is no device {public_id!r} in the register")
    actor.check_may_write(row["organisation_id"], row["organisation"])
    found = queries.get_active_credential(conn, row["id"])
    if found is None:
        return Current(public_id, active=False)
    return Current(public_id, True, found["issued_at"], found["issued_by"])


def none_in_register(conn: Conn) -> bool:
    """Whether no device credential was ever issued: the next one is the first, and closes the
    embedded broker to anonymous clients."""
    return not queries.any_credential_issued(conn)


def with_working_credential(conn: Conn, public_ids: list[str]) -> set[str]:
    """Which of these devices have a working credential (one query, for a list the caller has
    already scoped to an organisation)."""
    return queries.list_public_ids_with_active_credential(conn, public_ids)


def topics_of(organisation: str, public_id: str) -> tuple[str, ...]:
    """The topics a device's credential lets it publish to where the ingester takes them: the
    ACL's (`broker_files.DEVICE_TOPICS`) with the organisation's slug in the level the ACL leaves
    open, since the ingester refuses a device's message under another organisation."""
    return tuple(
        topic.replace("+", organisation, 1).replace("%u", public_id)
        for topic in broker_files.DEVICE_TOPICS
    )
