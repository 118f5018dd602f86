"""A device's public page, `/devices/<id>`, and its JSON twin, `/devices/<id>.json`."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request
from werkzeug.wrappers import Response

from web import signs
from web.device_card import find_card

blueprint = Blueprint("devices", __name__)


@blueprint.get("/devices/<public_id>.json")
def device_json(public_id: str) -> Response:
    return jsonify(find_card(public_id))


@blueprint.get("/devices/<public_id>")
def device_page(public_id: str) -> str:
    return render_template("device.html", card=find_card(public_id))


def page_address(public_id: str) -> str:
    """The device page's absolute address, as a QR code should carry it."""
    settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    base = settings.web.public_url or request.url_root
    return f"{base.rstrip('/')}/devices/{public_id}"


@blueprint.get("/devices/<public_id>/qr.svg")
def device_qr(public_id: str) -> Response:
    card = find_card(public_id)
    svg = signs.qr_svg(page_address(public_id), f"QR code: the page of {card['name']}")
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@blueprint.get("/devices/<public_id>/sign")
def device_sign(public_id: str) -> str:
    return render_template("sign.html", card=find_card(public_id), address=page_address(public_id))
