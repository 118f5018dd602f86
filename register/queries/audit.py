"""SQL for the audit log: one function per statement."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from register.queries import Conn, returned_id


def insert_audit_event(
    conn: Conn,
    *,
    actor: str,
    actor_user_id: int | None,
    organisation_id: int | None,
    entity: str,
    entity_id: int,
    action: str,
    changes: dict[str, Any],
    note: str,
) -> int:
    """Record one change to the register; return the event's id."""
    row = conn.execute(
        "INSERT INTO audit_events"
        " (actor, actor_user_id, organisation_id, entity, entity_id, action, changes, note)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (actor, actor_user_id, organisation_id, entity, entity_id, action, Jsonb(changes), note),
    ).fetchone()
    return returned_id(row)


def list_audit_events(conn: Conn, entity: str, entity_id: int) -> list[dict[str, Any]]:
    """An entity's history, oldest first, with the acting organisation's name."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT e.id, e.at, e.actor, e.actor_user_id, e.action, e.changes, e.note,"
            " o.name AS organisation_name"
            " FROM audit_events e LEFT JOIN organisations o ON o.id = e.organisation_id"
            " WHERE e.entity = %s AND e.entity_id = %s ORDER BY e.at, e.id",
            (entity, entity_id),
        ).fetchall()


def has_events_by(conn: Conn, actor: str) -> bool:
    """Whether any change to the register was made by this actor."""
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM audit_events WHERE actor = %s)", (actor,)
    ).fetchone()
    return bool(row and row[0])


def list_organisation_events(
    conn: Conn, organisation_id: int, *, device_id: int | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """The audit events of an organisation (its own entry and its devices', as the accountable
    organisation at the time; not its accounts'), newest first, or only one device's; with the
    device's public id (None for the organisation's own events)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT e.id, e.at, e.actor, e.entity, e.action, e.changes, e.note,"
            " d.public_id, d.name AS device_name"
            " FROM audit_events e"
            " LEFT JOIN devices d ON e.entity = 'device' AND d.id = e.entity_id"
            " WHERE e.organisation_id = %(organisation_id)s"
            " AND e.entity IN ('device', 'organisation')"
            " AND (%(device_id)s::integer IS NULL"
            "      OR (e.entity = 'device' AND e.entity_id = %(device_id)s))"
            " ORDER BY e.at DESC, e.id DESC LIMIT %(limit)s OFFSET %(offset)s",
            {
                "organisation_id": organisation_id,
                "device_id": device_id,
                "limit": limit,
                "offset": offset,
            },
        ).fetchall()
