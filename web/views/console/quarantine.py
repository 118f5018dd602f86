"""The console's refused messages: what the ingester put in quarantine for an organisation's
devices, by device and reason, with counts, first and last seen, and the latest payloads, so an
engineer can debug a gateway.

A payload may hold personal data, so only the organisation that owns the device sees it.
Messages from devices the register does not know belong to no organisation: only the register's
administrators see those, in a section of their own (anyone could have sent them, to any topic).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, request

from register.platform.config import Settings
from register.queries import Conn
from register.queries import quarantine as quarantine_queries
from web import database, payload_text, refusal_reasons, signed_in
from web.views.console import blueprint, record_filters

SAMPLES_PER_GROUP = 3
LABELS = {"device": "Device", "reason": "Reason", "days": "How far back"}


@blueprint.get("/quarantine")
@signed_in.required
def quarantine() -> tuple[str, int]:
    user = signed_in.user()
    settings: Settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    keep_days = settings.jobs.quarantine_keep_days
    errors: dict[str, str] = {}
    chosen = {name: request.args.get(name, "") for name in LABELS}
    reason = chosen["reason"] or None
    if reason is not None and reason not in refusal_reasons.TEXTS:
        errors["reason"] = f"{reason[:40]!r} is not a reason the ingester gives"
    days = _days(chosen["days"] or str(keep_days), keep_days, errors)
    groups: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    with database.connection() as conn:
        device_options = record_filters.options(conn, user, "Every device")
        device_id = record_filters.chosen_id(conn, user, chosen["device"], errors)
        if not errors:
            scope = {
                "since": datetime.now(UTC) - timedelta(days=days),
                "device_id": device_id,
                "reason": reason,
            }
            groups = _groups(conn, user.organisation_id, scope)
            if user.is_admin and device_id is None:
                unknown = _groups(conn, None, scope)
    return record_filters.filtered_page(
        "console/quarantine.html",
        errors,
        LABELS,
        user=user,
        keep_days=keep_days,
        days=days,
        groups=groups,
        unknown=unknown,
        chosen=chosen,
        device_options=device_options,
        reason_options=[("", "Every reason")]
        + [(code, f"{code}: {text}") for code, text in refusal_reasons.TEXTS.items()],
        day_options=[
            (str(n), f"the last {n} day{'' if n == 1 else 's'}") for n in _day_choices(keep_days)
        ],
    )


def _days(text: str, keep_days: int, errors: dict[str, str]) -> int:
    """How many days back to look: 1 to `keep_days`, the longest refused messages are kept."""
    days = record_filters.whole_number(text, 1, keep_days)
    if days is not None:
        return days
    errors["days"] = (
        f"{text[:20]!r} is not a number of days from 1 to {keep_days} (refused messages are "
        f"kept for {keep_days} days)"
    )
    return keep_days


def _day_choices(keep_days: int) -> list[int]:
    return sorted({n for n in (1, 2, 7, 30, 90) if n < keep_days} | {keep_days})


def _groups(conn: Conn, organisation_id: int | None, scope: dict[str, Any]) -> list[dict[str, Any]]:
    """The refused messages of an organisation's devices (None: of no known device) by device
    and reason, each with its plain-English reason and its latest payloads as shown."""
    samples: dict[tuple[int | None, str], list[dict[str, Any]]] = defaultdict(list)
    for sample in quarantine_queries.list_refusal_samples(
        conn, organisation_id, per_group=SAMPLES_PER_GROUP, **scope
    ):
        shown = payload_text.shown(bytes(sample["payload"]), sample["payload_size"])
        # The topic and the ingester's message quote what was sent, so they are shown safely too.
        said = {name: payload_text.visible(sample[name]) for name in ("topic", "message")}
        samples[(sample["device_id"], sample["reason"])].append({**sample, **said, "shown": shown})
    return [
        {
            **group,
            "reason_text": refusal_reasons.describe(group["reason"]),
            "samples": samples[(group["device_id"], group["reason"])],
        }
        for group in quarantine_queries.list_refusal_groups(conn, organisation_id, **scope)
    ]
