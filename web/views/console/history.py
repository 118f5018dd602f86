"""The console's history: every change to an organisation's devices and to the organisation
itself, newest first, with the person who made it (the audit event's actor, as recorded: a
person, a command line, an API token), each field before and after, and the note.

Only events recorded for the signed-in person's organisation are shown. The public history of a
device still names only the organisation (`register.audit.public_history`).
"""

from __future__ import annotations

from typing import Any

from flask import request

from register.queries import audit as audit_queries
from web import change_text, database, signed_in
from web.views.console import blueprint, record_filters

PAGE_SIZE = 50
LABELS = {"device": "Device", "page": "Page"}
ACTIONS = {"create": "Created", "update": "Changed", "decommission": "Decommissioned"}


@blueprint.get("/history")
@signed_in.required
def history() -> tuple[str, int]:
    user = signed_in.user()
    errors: dict[str, str] = {}
    chosen = request.args.get("device", "")
    page = _page_number(request.args.get("page", "1"), errors)
    events: list[dict[str, Any]] = []
    with database.connection() as conn:
        devices = record_filters.options(conn, user, "Every device, and the organisation")
        device_id = record_filters.chosen_id(conn, user, chosen, errors)
        if not errors:
            events = audit_queries.list_organisation_events(
                conn,
                user.organisation_id,
                device_id=device_id,
                limit=PAGE_SIZE + 1,
                offset=(page - 1) * PAGE_SIZE,
            )
    return record_filters.filtered_page(
        "console/history.html",
        errors,
        LABELS,
        user=user,
        devices=devices,
        chosen=chosen,
        page=page,
        events=[_shown(event) for event in events[:PAGE_SIZE]],
        more=len(events) > PAGE_SIZE,
    )


def _page_number(text: str, errors: dict[str, str]) -> int:
    """The page asked for, from 1; an error (and page 1) when it is not a whole number."""
    page = record_filters.whole_number(text, 1, 1_000_000)
    if page is not None:
        return page
    errors["page"] = f"{text[:20]!r} is not a page number (1, 2, 3 …)"
    return 1


def _shown(event: dict[str, Any]) -> dict[str, Any]:
    """An audit event as the history lists it."""
    about = event["public_id"] if event["entity"] == "device" else "the organisation's entry"
    return {
        "at": event["at"],
        "by": event["actor"],
        "action": ACTIONS.get(event["action"], event["action"]),
        "about": about,
        "device_url": f"/devices/{event['public_id']}" if event["entity"] == "device" else None,
        "created": event["action"] == "create",
        "changes": change_text.readable(event["changes"], event["entity"]),
        "note": event["note"],
    }
