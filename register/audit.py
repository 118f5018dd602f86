"""The audit log: who changed what in the register, when, with each field before and after.

Service functions call `record()` inside the transaction that makes the change, so a change and
its audit event commit together or not at all. A device's history is public; the actor's name
is not: `public_history()` names only the organisation that acted.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from register.queries import Conn
from register.queries import audit as queries


class NotAllowed(Exception):
    """The actor may not change this organisation's entries."""


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a person (with their organisation) or an administrator's command line."""

    label: str
    user_id: int | None = None
    # None means every organisation: the command line, run by whoever runs the server.
    organisation_id: int | None = None

    @classmethod
    def command_line(cls) -> Actor:
        return cls(label=f"command line ({getpass.getuser()})")

    def check_may_write(self, organisation_id: int, organisation_name: str) -> None:
        """Raise NotAllowed unless this actor may change entries of that organisation."""
        if self.organisation_id is not None and self.organisation_id != organisation_id:
            raise NotAllowed(
                f"you may only change entries of your own organisation, not {organisation_name}"
            )


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-level changes between two dumped entries: {field: {"before": x, "after": y}}.

    Metrics are compared by key, so a changed retention reads `metrics.no2.retention`, and an
    added or withdrawn metric reads `metrics.no2` with null on one side.
    """
    before = before or {}
    changes: dict[str, dict[str, Any]] = {}
    for field in dict.fromkeys([*before, *after]):
        old, new = before.get(field), after.get(field)
        if field == "metrics":
            changes.update(_metric_changes(old or [], new or []))
        elif old != new:
            changes[field] = {"before": old, "after": new}
    return changes


def _metric_changes(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    old_by_key = {m["key"]: m for m in old}
    new_by_key = {m["key"]: m for m in new}
    changes: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys([*old_by_key, *new_by_key]):
        was, now = old_by_key.get(key), new_by_key.get(key)
        if was is None or now is None:
            changes[f"metrics.{key}"] = {"before": was, "after": now}
            continue
        for field in dict.fromkeys([*was, *now]):
            if was.get(field) != now.get(field):
                changes[f"metrics.{key}.{field}"] = {
                    "before": was.get(field),
                    "after": now.get(field),
                }
    return changes


def record(
    conn: Conn,
    actor: Actor,
    *,
    entity: str,
    entity_id: int,
    organisation_id: int,
    action: str,
    changes: dict[str, Any],
    note: str = "",
) -> int:
    """Write one audit event in the caller's transaction."""
    return queries.insert_audit_event(
        conn,
        actor=actor.label,
        actor_user_id=actor.user_id,
        organisation_id=organisation_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        changes=changes,
        note=note,
    )


def history(conn: Conn, entity: str, entity_id: int) -> list[dict[str, Any]]:
    """Every event of an entity, oldest first, with the actor (for engineers and auditors)."""
    return queries.list_audit_events(conn, entity, entity_id)


def public_history(conn: Conn, entity: str, entity_id: int) -> list[dict[str, Any]]:
    """An entity's history as the public sees it: when, what changed, and which organisation."""
    return [
        {
            "at": event["at"],
            "action": event["action"],
            "changes": event["changes"],
            "note": event["note"],
            "by": event["organisation_name"] or "the register's administrators",
        }
        for event in history(conn, entity, entity_id)
    ]
