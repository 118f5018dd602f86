"""A device's plain-English card: one dict, rendered as the HTML page and as its JSON twin.

It answers the questions a resident asks of a sensor on a lamp post: what is it, why is it
here, what does it collect, how long is that kept, who is responsible, and whether the system
does what the register says (compliance, from the figures the compliance job stores: data
refused, oldest reading against retention).
`find_card` and `find_history` are what the device's pages and API v1 ask for, and
`find_card_and_version` the card with its entry's version, for API v1's ETag, and `find_entry`
the register entry itself, which API v1's writes take: a 404 when the register has no such
device.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from flask import abort

from register import audit, devices, periods, vocab
from register.devices import dumped
from register.platform import db
from register.queries import Conn
from register.queries import registry as register_queries
from web import compliance, database, queries, reporting

# How far back the device's page looks for its newest readings.
LATEST_READINGS_WINDOW = timedelta(days=1)
STATUS_TEXT = {
    "planned": "Planned: not installed yet, so it collects nothing.",
    "active": "Active: installed and collecting data.",
    "suspended": "Suspended: installed, but not collecting data for now.",
    "decommissioned": "Decommissioned: removed from service; it collects nothing.",
}
# UK GDPR Article 6(1): the lawful bases, in plain English.
LEGAL_BASIS_TEXT = {
    "consent": "People have given their consent (UK GDPR Article 6(1)(a)).",
    "contract": "It is needed for a contract with the people concerned (Article 6(1)(b)).",
    "legal_obligation": "The law requires the organisation to do it (Article 6(1)(c)).",
    "vital_interests": "It protects someone's life (Article 6(1)(d)).",
    "public_task": "It is part of the organisation's public task (Article 6(1)(e)).",
    "legitimate_interests": (
        "The organisation's legitimate interests, weighed against people's rights "
        "(Article 6(1)(f))."
    ),
}


def _terms(category: str, ids: list[str]) -> list[dict[str, Any]]:
    found = []
    for term_id in ids:
        term = vocab.term(category, term_id)
        found.append(
            {
                "id": term_id,
                "name": term.name if term else term_id,
                "explanation": term.explanation if term else "",
                "local": bool(term and term.local),
            }
        )
    return found


def _unit_text(unit: str) -> str:
    known = vocab.units().get(unit)
    return known.description if known else unit


def build(conn: Conn, public_id: str) -> dict[str, Any] | None:
    """The card of one device, or None when the register has no such device."""
    row = register_queries.get_device_row(conn, public_id)
    if row is None:
        return None
    entry = dumped(row, register_queries.list_declared_metrics(conn, [row["id"]]))
    organisation = register_queries.get_organisation(conn, entry["organisation"]) or {}
    metrics = [_metric(m) for m in entry["metrics"]]
    personal = [m for m in metrics if m["personal"]]
    activity = queries.get_device_activity(conn, row["id"]) or {}
    card: dict[str, Any] = {
        "public_id": public_id,
        "url": f"/devices/{public_id}",
        "name": entry["name"],
        "status": entry["status"],
        "status_text": STATUS_TEXT[entry["status"]],
        "place": entry["place"],
        "location": {"latitude": entry["latitude"], "longitude": entry["longitude"]},
        "description": entry.get("description") or "",
        "installed_on": entry.get("installed_on"),
        "decommissioned_on": entry.get("decommissioned_on"),
    }
    for field, category in vocab.DEVICE_CATEGORIES.items():
        card[field] = _terms(category, entry.get(field) or [])
    card["metrics"] = metrics
    card["personal_data"] = {
        "collected": bool(personal),
        "metrics": [m["key"] for m in personal],
        "legal_basis": entry.get("legal_basis"),
        "legal_basis_text": LEGAL_BASIS_TEXT.get(entry.get("legal_basis") or "", ""),
        "dpia_url": entry.get("dpia_url"),
    }
    card["open_data"] = {"metrics": [m["key"] for m in metrics if m["open_data"]]}
    card["responsible"] = {
        "organisation": {
            "slug": organisation.get("slug"),
            "name": organisation.get("name"),
            "contact_email": organisation.get("contact_email"),
            "privacy_notice_url": organisation.get("privacy_notice_url"),
            "dpo_contact": organisation.get("dpo_contact"),
        },
        "contact_email": entry.get("contact_email") or organisation.get("contact_email"),
    }
    card["live"] = {
        "last_seen_at": _utc(activity.get("last_seen_at")),
        "last_stored_at": _utc(activity.get("last_stored_at")),
        **_reporting(row["reporting_interval"], queries.get_not_reporting_since(conn, row["id"])),
        "latest_readings": _latest_readings(conn, row["id"], metrics),
    }
    card["compliance"] = compliance.for_device(conn, row["id"], metrics)
    card["history"] = history(conn, row["id"])
    return card


def history(conn: Conn, device_id: int) -> list[dict[str, Any]]:
    """The device's public history, oldest first: when (UTC), what changed, why, and who."""
    return [
        {**event, "at": _utc(event["at"])}
        for event in audit.public_history(conn, "device", device_id)
    ]


def _no_such_device(public_id: str) -> NoReturn:
    abort(404, description=f"There is no device {public_id[:80]!r} in the register.")


def find_card(public_id: str) -> dict[str, Any]:
    """The device's card; a 404 when the register has no such device."""
    with database.connection() as conn:
        card = build(conn, public_id)
    if card is None:
        _no_such_device(public_id)
    return card


def find_card_and_version(public_id: str) -> tuple[dict[str, Any], str]:
    """The device's card and the version (`register.devices.version_of`) of the register entry
    it was built from, the API's ETag; a 404 when the register has no such device.

    Both are read in one snapshot (REPEATABLE READ), so they always agree: a change committed
    while the card is built is in neither, and a write based on this version is refused (412)
    instead of dropping that change."""
    with database.connection() as conn, db.snapshot(conn, read_only=True):
        card = build(conn, public_id)
        entry = devices.get_device(conn, public_id)
    if card is None or entry is None:
        _no_such_device(public_id)
    return card, devices.version_of(entry)


def find_entry(public_id: str) -> dict[str, Any]:
    """The device's register entry (`register.devices.get_device`); a 404 when there is none."""
    with database.connection() as conn:
        entry = devices.get_device(conn, public_id)
    if entry is None:
        _no_such_device(public_id)
    return entry


def find_history(public_id: str) -> list[dict[str, Any]]:
    """The device's public history (without building its card); a 404 when there is no such
    device."""
    with database.connection() as conn:
        device_id = queries.get_device_id(conn, public_id)
        if device_id is None:
            _no_such_device(public_id)
        return history(conn, device_id)


def _utc(moment: datetime | None) -> datetime | None:
    """Times are shown in UTC, whatever the database session's time zone."""
    return moment.astimezone(UTC) if moment is not None else None


def _reporting(interval: timedelta | None, since: datetime | None) -> dict[str, Any]:
    """How often the device says it reports, and since when it has not (while it is marked)."""
    return {
        "reporting_interval": None if interval is None else periods.to_iso(interval),
        "expected": None if interval is None else reporting.every(interval),
        "not_reporting_since": _utc(since),
        "not_reporting": reporting.not_reporting_text(since, interval),
    }


def _latest_readings(
    conn: Conn, device_id: int, metrics: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The newest reading of each open-data metric in the last day: the live data a resident
    may see. Personal data is never open data, so its values never appear here."""
    since = datetime.now(UTC) - LATEST_READINGS_WINDOW
    latest = queries.list_latest_open_readings(conn, device_id, since)
    shown = []
    for metric in metrics:
        if metric["key"] not in latest or not metric["open_data"] or metric["personal"]:
            continue
        at, value = latest[metric["key"]]
        shown.append(
            {
                "key": metric["key"],
                "label": metric["label"],
                "at": _utc(at),
                "value": value,
                "value_text": _value_text(value, metric),
            }
        )
    return shown


def _value_text(value: float, metric: dict[str, Any]) -> str:
    """'23.4 ug/m3', '17' (a count), 'yes'."""
    if metric["value_kind"] == "boolean":
        return "yes" if value else "no"
    unit = metric["unit"]
    return f"{value:g}" if unit in ("", "count") else f"{value:g} {unit}"


def _metric(metric: dict[str, Any]) -> dict[str, Any]:
    period = periods.parse(metric["retention"])
    boolean = metric["value_kind"] == "boolean"
    return {
        "key": metric["key"],
        "label": metric["label"],
        "unit": metric["unit"],
        "unit_text": "yes or no" if boolean else _unit_text(metric["unit"]),
        "value_kind": metric["value_kind"],
        "personal": metric["personal"],
        "retention": metric["retention"],
        "retention_text": periods.describe(period),
        "retention_days": period.total_seconds() / 86400,
        "open_data": metric["open_data"],
    }
