"""Organisations in the register: validate, create and update, each with its audit event."""

from __future__ import annotations

from typing import Any

import psycopg

from register import audit, validation
from register.audit import Actor
from register.queries import Conn
from register.queries import registry as queries
from register.schemas import OrganisationSchema
from register.validation import FieldError, InvalidEntry

SCHEMA = OrganisationSchema()


def public_form(row: dict[str, Any]) -> dict[str, Any]:
    """An organisation row in the schema's public form."""
    result: dict[str, Any] = SCHEMA.dump({f: row[f] for f in queries.ORGANISATION_FIELDS})
    return result


def get_organisation(conn: Conn, slug: str) -> dict[str, Any] | None:
    """One organisation in public form, or None when there is none."""
    row = queries.get_organisation(conn, slug)
    return None if row is None else public_form(row)


def list_organisations(conn: Conn) -> list[dict[str, Any]]:
    """Every organisation in public form, by name."""
    return [public_form(row) for row in queries.list_organisations(conn)]


def create_organisation(conn: Conn, raw: Any, actor: Actor) -> dict[str, Any]:
    """Validate and add an organisation; InvalidEntry if the slug is taken."""
    data = validation.load(SCHEMA, raw)
    if queries.get_organisation(conn, data["slug"]) is not None:
        raise InvalidEntry([FieldError("slug", f"organisation {data['slug']} already exists")])
    if actor.organisation_id is not None:
        raise audit.NotAllowed("only the register's administrators may add organisations")
    try:
        # A savepoint: another administrator may add the same slug at the same moment.
        with conn.transaction():
            organisation_id = queries.insert_organisation(conn, data)
    except psycopg.errors.UniqueViolation:
        raise InvalidEntry(
            [FieldError("slug", f"organisation {data['slug']} already exists")]
        ) from None
    audit.record(
        conn,
        actor,
        entity="organisation",
        entity_id=organisation_id,
        organisation_id=organisation_id,
        action="create",
        changes=audit.diff(None, SCHEMA.dump(data)),
    )
    return data


def update_organisation(conn: Conn, slug: str, raw: Any, actor: Actor) -> dict[str, Any]:
    """Validate an organisation's new entry and apply it, recording what changed."""
    current = queries.get_organisation(conn, slug)
    if current is None:
        raise InvalidEntry([FieldError("slug", f"no organisation {slug}")])
    actor.check_may_write(current["id"], current["name"])
    data = validation.load(SCHEMA, raw)
    if data["slug"] != slug:
        raise InvalidEntry([FieldError("slug", "an organisation's slug cannot change")])
    changes = audit.diff(public_form(current), SCHEMA.dump(data))
    if changes:
        queries.update_organisation(conn, current["id"], data)
        audit.record(
            conn,
            actor,
            entity="organisation",
            entity_id=current["id"],
            organisation_id=current["id"],
            action="update",
            changes=changes,
        )
    return changes
