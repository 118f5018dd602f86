"""A device's public page, `/devices/<id>`, and its JSON twin, `/devices/<id>.json`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template
from werkzeug.wrappers import Response

from web import database, device_card

blueprint = Blueprint("devices", __name__)


def _card(public_id: str) -> dict[str, Any]:
    settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    with database.connection() as conn:
        card = device_card.build(
            conn, public_id, retention_job_seconds=settings.jobs.retention_interval
        )
    if card is None:
        abort(404, description=f"There is no device {public_id!r} in the register.")
    return card


@blueprint.get("/devices/<public_id>.json")
def device_json(public_id: str) -> Response:
    return jsonify(_card(public_id))


@blueprint.get("/devices/<public_id>")
def device_page(public_id: str) -> str:
    return render_template("device.html", card=_card(public_id))
