"""An organisation's page, `/organisations/<slug>`, with its transparency summary, and its JSON
twin; and `/about`, which says which guarantees the system enforces and how."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template
from werkzeug.wrappers import Response

from register import vocab
from register.queries import registry as register_queries
from web import database, queries
from web.device_list import Filters, everything

blueprint = Blueprint("organisations", __name__)


def _summary(slug: str) -> dict[str, Any]:
    with database.connection() as conn:
        organisation = register_queries.get_organisation(conn, slug)
        figures = queries.get_organisation_summary(conn, slug)
        if organisation is None or figures is None:
            abort(404, description=f"There is no organisation {slug!r} in the register.")
        purposes = queries.list_organisation_purposes(conn, figures["id"])
        devices = everything(conn, Filters(organisation=slug))
    return {
        "slug": slug,
        "url": f"/organisations/{slug}",
        "name": organisation["name"],
        "kind": organisation["kind"],
        "contact_email": organisation["contact_email"],
        "privacy_notice_url": organisation.get("privacy_notice_url"),
        "dpo_contact": organisation.get("dpo_contact"),
        "website": organisation.get("website"),
        "transparency": {
            "devices": figures["devices"],
            "by_status": {
                s: figures[s] for s in ("active", "planned", "suspended", "decommissioned")
            },
            "personal_data_devices": figures["personal_data_devices"],
            "refused_messages": figures["refused"],
            "purposes": [
                {"id": p, "name": (t.name if (t := vocab.term("purpose", p)) else p), "devices": n}
                for p, n in purposes
            ],
        },
        "devices": devices,
    }


@blueprint.get("/organisations/<slug>.json")
def organisation_json(slug: str) -> Response:
    return jsonify(_summary(slug))


@blueprint.get("/organisations/<slug>")
def organisation_page(slug: str) -> str:
    return render_template("organisation.html", org=_summary(slug))


@blueprint.get("/about")
def about() -> str:
    settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    return render_template("about.html", settings=settings)
