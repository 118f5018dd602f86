"""The home page's device list, searchable and filterable without JavaScript, and its twins:
`/devices.json` (paged), `/devices.geojson` and `/devices.csv` (every match)."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from register import exports, vocab
from register.queries import Conn
from register.schemas import STATUSES
from web import database, device_filters, device_list, queries

blueprint = Blueprint("home", __name__)

CSV_COLUMNS = (
    "public_id",
    "name",
    "status",
    "place",
    "latitude",
    "longitude",
    "organisation",
    "organisation_name",
    "purposes",
    "technology",
    "personal_data",
    "reporting_interval",
    "not_reporting_since",
    "url",
)


def _read_filters(conn: Conn) -> tuple[device_filters.Filters, list[tuple[str, str]]]:
    """The request's filters (400 when one cannot be right) and the organisations to offer."""
    organisations = queries.list_organisation_slugs(conn)
    try:
        filters = device_filters.read_filters(request.args, [slug for slug, _ in organisations])
    except device_filters.BadFilter as error:
        abort(400, description=str(error))
    return filters, organisations


@blueprint.get("/")
def home() -> str:
    settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    with database.connection() as conn:
        filters, organisations = _read_filters(conn)
        listing = device_list.page(conn, filters)
    return render_template(
        "home.html",
        listing=listing,
        anywhere=filters.as_args(with_place=False),
        organisations=organisations,
        purposes=vocab.terms("purpose"),
        technologies=vocab.terms("technology"),
        statuses=STATUSES,
        tile_url=settings.web.tile_url,
        tile_attribution=settings.web.tile_attribution,
    )


@blueprint.get("/devices.json")
def devices_json() -> Response:
    with database.connection() as conn:
        filters, _ = _read_filters(conn)
        return jsonify(device_list.page(conn, filters))


def _every_match() -> list[dict[str, Any]]:
    with database.connection() as conn:
        filters, _ = _read_filters(conn)
        return device_list.everything(conn, filters)


@blueprint.get("/devices.geojson")
def devices_geojson() -> Response:
    devices = _every_match()
    features = [exports.geojson_feature(d) for d in devices]
    response = jsonify({"type": "FeatureCollection", "features": features})
    response.mimetype = "application/geo+json"
    return response


@blueprint.get("/devices.csv")
def devices_csv() -> Response:
    devices = _every_match()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for d in devices:
        row = {
            **d,
            "purposes": " ".join(d["purposes"]),
            "technology": " ".join(d["technology"]),
            "personal_data": "yes" if d["personal_data"] else "no",
            "reporting_interval": d["reporting_interval"] or "",
            "not_reporting_since": (
                d["not_reporting_since"].isoformat() if d["not_reporting_since"] else ""
            ),
        }
        writer.writerow([row[c] for c in CSV_COLUMNS])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="lamplighter-devices.csv"'},
    )
