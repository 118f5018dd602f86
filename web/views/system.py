"""`/system` and its JSON twin: what the scheduled jobs did, and when they run next."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from werkzeug.wrappers import Response

from web import database, system_status

blueprint = Blueprint("system", __name__)


def _status() -> dict[str, object]:
    settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    with database.connection() as conn, conn.transaction():
        return system_status.build(conn, settings)


@blueprint.get("/system")
def system_page() -> str:
    return render_template("system.html", status=_status())


@blueprint.get("/system.json")
def system_json() -> Response:
    return jsonify(_status())
