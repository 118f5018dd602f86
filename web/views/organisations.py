"""An organisation's page, `/organisations/<slug>`, with its transparency summary, and its JSON
twin; and `/about`, which says which guarantees the system enforces and how."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template
from werkzeug.wrappers import Response

from web import database, guarantees, organisation_summary
from web.device_filters import Filters
from web.device_list import everything

blueprint = Blueprint("organisations", __name__)


def _summary(slug: str) -> dict[str, Any]:
    with database.connection() as conn:
        summary = organisation_summary.build(conn, slug)
        if summary is None:
            abort(404, description=f"There is no organisation {slug!r} in the register.")
        devices = everything(conn, Filters(organisation=slug))
    return {**summary, "url": f"/organisations/{slug}", "devices": devices}


@blueprint.get("/organisations/<slug>.json")
def organisation_json(slug: str) -> Response:
    return jsonify(_summary(slug))


@blueprint.get("/organisations/<slug>")
def organisation_page(slug: str) -> str:
    return render_template("organisation.html", org=_summary(slug))


def _guarantees() -> list[dict[str, str]]:
    return guarantees.guarantees(current_app.config["LAMPLIGHTER_SETTINGS"])


@blueprint.get("/about")
def about() -> str:
    return render_template(
        "about.html", introduction=guarantees.INTRODUCTION, guarantees=_guarantees()
    )


@blueprint.get("/about.json")
def about_json() -> Response:
    return jsonify({"introduction": guarantees.INTRODUCTION, "guarantees": _guarantees()})
