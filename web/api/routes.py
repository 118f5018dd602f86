"""API v1, under `/api/v1`: devices with the home page's filters plus `bbox`, a device (its card,
and its register entry, the shape the writes take), its history and its open readings,
organisations, vocabularies, and the OpenAPI document; the writes, for an organisation's API
token, are in `web.api.writes`, and devices' MQTT credentials in `web.api.credentials`, on the
same blueprint.

Every answer is dumped through its schema in `web.api.schemas`. Bad parameters are a 400, and
unknown things a 404, as RFC 9457 problems (see `web.views.errors`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request
from marshmallow import Schema
from werkzeug.wrappers import Response

from register import devices, validation, vocab
from register.queries import Conn
from register.schemas import DeviceSchema
from register.validation import InvalidEntry
from web import database, device_filters, device_list, open_readings, organisation_summary, queries
from web.api import openapi, schemas
from web.api.openapi import Operation, documented
from web.device_card import find_card_and_version, find_entry, find_history

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
PREFIX = "/api/v1"
DTPR_SOURCE = (
    "DTPR (Digital Trust for Places & Routines) device taxonomy by Helpful Places, CC BY 4.0; "
    "terms marked local are Lamplighter's own"
)


def _answer(schema: type[Schema], data: Any) -> Response:
    return jsonify(schema().dump(data))


def _no_arguments() -> None:
    if request.args:
        name = sorted(request.args)[0]
        abort(400, description=f"unknown parameter {name[:40]!r}; this takes no parameters")


def _device_summary(summary: dict[str, Any]) -> dict[str, Any]:
    return {**summary, "url": f"{PREFIX}/devices/{summary['public_id']}", "page": summary["url"]}


def _read_filters(conn: Conn) -> device_filters.Filters:
    slugs = [slug for slug, _ in queries.list_organisation_slugs(conn)]
    try:
        return device_filters.read_filters(request.args, slugs, strict=True)
    except device_filters.BadFilter as error:
        abort(400, description=str(error))


@blueprint.get("/openapi.json")
def openapi_document() -> Response:
    _no_arguments()
    return jsonify(openapi.current_document())


@blueprint.get("/devices")
@documented(
    Operation(
        summary="Find devices",
        description=(
            "Devices in the register, filtered, 50 a page by default. With `near`, only "
            "devices within `radius` metres, nearest first, each with its distance; otherwise "
            "by organisation and id."
        ),
        response=schemas.DevicePage,
        filters=device_filters.FILTERS,
        tags=("devices",),
    )
)
def list_devices() -> Response:
    with database.connection() as conn:
        listing = device_list.page(conn, _read_filters(conn))
    listing["devices"] = [_device_summary(d) for d in listing["devices"]]
    return _answer(schemas.DevicePage, listing)


@blueprint.get("/devices/<public_id>")
@documented(
    Operation(
        summary="A device",
        description=(
            "Everything the register says about one device, in plain words as well as ids: "
            "purposes, data collected with units and retention, personal data and its legal "
            "basis, who is responsible, when it was last heard from, and compliance: each "
            "metric's oldest stored reading against its declared retention, and data refused "
            "in the last 7 and 30 days by reason, as the compliance job last computed them "
            "(`computed_at`; null before its first run). This is written for people; the "
            "writes take its register entry (`links.entry`), which has the same ETag."
        ),
        response=schemas.Device,
        headers=("ETag",),
        errors=(404,),
        tags=("devices",),
    )
)
def get_device(public_id: str) -> Response:
    _no_arguments()
    # The card and its entry's version come from one snapshot, so the ETag (which a write
    # names in If-Match) is the version of exactly the entry shown. The answer also holds live
    # figures that change without it, so it is no key for If-None-Match.
    card, version = find_card_and_version(public_id)
    card["links"] = {
        "page": card["url"],
        "history": f"{PREFIX}/devices/{public_id}/history",
        "readings": f"{PREFIX}/devices/{public_id}/readings",
        "entry": f"{PREFIX}/devices/{public_id}/entry",
    }
    response = _answer(schemas.Device, card)
    response.headers["ETag"] = f'"{version}"'
    return response


@blueprint.get("/devices/<public_id>/entry")
@documented(
    Operation(
        summary="A device's register entry",
        description=(
            "The device's entry as the register holds it: exactly the shape `POST` and `PATCH` "
            "take and the register's exports hold (ids rather than words, periods in ISO "
            "8601), with the same ETag as the device's card. To change one metric, read this, "
            "change it, and `PATCH` its `metrics` back with the ETag in If-Match: a worked "
            "example is on the /api page, under Changing a device."
        ),
        response=DeviceSchema,
        headers=("ETag",),
        errors=(404,),
        tags=("devices",),
    )
)
def get_device_entry(public_id: str) -> Response:
    _no_arguments()
    return entry_answer(find_entry(public_id))


def entry_answer(entry: dict[str, Any], status: int = 200) -> Response:
    """A device's register entry, with its version as the ETag (a read's answer, and a write's)."""
    response = jsonify(entry)
    response.status_code = status
    response.headers["ETag"] = f'"{devices.version_of(entry)}"'
    return response


@blueprint.get("/devices/<public_id>/history")
@documented(
    Operation(
        summary="A device's history",
        description=(
            "Every change to the device's register entry, oldest first: when, what changed "
            "(before and after), why, and which organisation made it. People's names are "
            "never shown."
        ),
        response=schemas.DeviceHistory,
        errors=(404,),
        tags=("devices",),
    )
)
def get_device_history(public_id: str) -> Response:
    _no_arguments()
    events = find_history(public_id)
    return _answer(schemas.DeviceHistory, {"public_id": public_id, "events": events})


def load_query(schema: type[Schema]) -> dict[str, Any]:
    """The request's query arguments loaded through a schema; a 400 saying what is wrong."""
    try:
        return validation.load(schema(), request.args.to_dict())
    except InvalidEntry as error:
        abort(400, description=str(error))


@blueprint.get("/devices/<public_id>/readings")
@documented(
    Operation(
        summary="A device's open readings",
        description=(
            "One metric's readings, aggregated with TimescaleDB's time_bucket: count, mean, "
            "minimum and maximum per bucket. Only metrics the register declares open data are "
            "served; a personal-data metric's readings never are (403)."
        ),
        response=schemas.Readings,
        query=schemas.ReadingsQuery,
        errors=(403, 404),
        tags=("readings",),
    )
)
def get_device_readings(public_id: str) -> Response:
    asked = load_query(schemas.ReadingsQuery)
    try:
        window = open_readings.window(asked.get("start"), asked.get("end"), asked["bucket"])
        with database.connection() as conn:
            found = open_readings.series(conn, public_id, asked["metric"], window)
    except open_readings.NotServed as refusal:
        abort(refusal.status, description=str(refusal))
    return _answer(schemas.Readings, found)


def _organisation(summary: dict[str, Any]) -> dict[str, Any]:
    slug = summary["slug"]
    return {
        **summary,
        "url": f"{PREFIX}/organisations/{slug}",
        "page": f"/organisations/{slug}",
        "devices_url": f"{PREFIX}/devices?organisation={slug}",
    }


@blueprint.get("/organisations")
@documented(
    Operation(
        summary="Organisations",
        description="Every accountable organisation, by name, with its transparency summary.",
        response=schemas.OrganisationList,
        tags=("organisations",),
    )
)
def list_organisations() -> Response:
    _no_arguments()
    with database.connection() as conn:
        found = organisation_summary.build_all(conn)
    return _answer(schemas.OrganisationList, {"organisations": [_organisation(o) for o in found]})


@blueprint.get("/organisations/<slug>")
@documented(
    Operation(
        summary="An organisation",
        description=(
            "Who it is, how to reach it and its data protection officer, and its transparency "
            "summary: devices by status, devices collecting personal data, messages refused, "
            "the purposes its devices serve, and compliance: the share of its devices within "
            "retention and its refused data, as the compliance job last computed them."
        ),
        response=schemas.Organisation,
        errors=(404,),
        tags=("organisations",),
    )
)
def get_organisation(slug: str) -> Response:
    _no_arguments()
    with database.connection() as conn:
        summary = organisation_summary.build(conn, slug)
    if summary is None:
        abort(404, description=f"There is no organisation {slug[:80]!r} in the register.")
    return _answer(schemas.Organisation, _organisation(summary))


def _vocabulary(category: str) -> dict[str, Any]:
    return {"category": category, "terms": vocab.terms(category)}


@blueprint.get("/vocabularies")
@documented(
    Operation(
        summary="Vocabularies",
        description=(
            "The DTPR terms the register uses, by category, with a plain-English explanation "
            "of each. Device entries and filters use these ids."
        ),
        response=schemas.VocabularyList,
        tags=("vocabularies",),
    )
)
def list_vocabularies() -> Response:
    _no_arguments()
    found = [_vocabulary(category) for category in vocab.categories()]
    return _answer(schemas.VocabularyList, {"source": DTPR_SOURCE, "vocabularies": found})


@blueprint.get("/vocabularies/<category>")
@documented(
    Operation(
        summary="One vocabulary",
        description="The terms of one DTPR category.",
        response=schemas.Vocabulary,
        errors=(404,),
        tags=("vocabularies",),
    )
)
def get_vocabulary(category: str) -> Response:
    _no_arguments()
    if category not in vocab.categories():
        known = ", ".join(vocab.categories())
        abort(404, description=f"There is no vocabulary {category[:40]!r}; there are {known}.")
    return _answer(schemas.Vocabulary, _vocabulary(category))


# The writes, and devices' credentials, add their routes to the blueprint above.
from web.api import credentials, writes  # noqa: E402,F401
