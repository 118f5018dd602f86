"""An organisation's transparency summary: who it is, how many devices it runs in each status,
how many collect personal data, how many are not reporting as they declare, the purposes
served, and its compliance figures (the share of its devices within retention, refused data by
window), which the compliance job computes.

One dict, shown on the organisation's page and served by its JSON twin and the API.
"""

from __future__ import annotations

from typing import Any

from register import vocab
from register.queries import Conn
from register.queries import registry as register_queries
from web import compliance, queries

STATUS_ORDER = ("active", "planned", "suspended", "decommissioned")


def build(conn: Conn, slug: str) -> dict[str, Any] | None:
    """The summary of one organisation, or None when the register has no such organisation."""
    organisation = register_queries.get_organisation(conn, slug)
    figures = queries.get_organisation_summary(conn, slug)
    if organisation is None or figures is None:
        return None
    purposes = queries.list_organisation_purposes(conn, figures["id"])
    return {
        "slug": slug,
        "name": organisation["name"],
        "kind": organisation["kind"],
        "contact_email": organisation["contact_email"],
        "privacy_notice_url": organisation.get("privacy_notice_url"),
        "dpo_contact": organisation.get("dpo_contact"),
        "website": organisation.get("website"),
        "transparency": {
            "devices": figures["devices"],
            "by_status": {status: figures[status] for status in STATUS_ORDER},
            "personal_data_devices": figures["personal_data_devices"],
            "not_reporting_devices": figures["not_reporting"],
            "purposes": [
                {"id": p, "name": (t.name if (t := vocab.term("purpose", p)) else p), "devices": n}
                for p, n in purposes
            ],
            "compliance": compliance.for_organisation(conn, figures["id"]),
        },
    }


def build_all(conn: Conn) -> list[dict[str, Any]]:
    """Every organisation's summary, by name."""
    found = (build(conn, slug) for slug, _ in queries.list_organisation_slugs(conn))
    return [summary for summary in found if summary is not None]
