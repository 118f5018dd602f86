"""API v1's writes, for an organisation's API token (`web.api.bearer`): create, change and
decommission its devices, and check (or import) a file of them.

Every write goes through `register.devices` with the token as the actor, so it leaves an audit
event naming the token and reaches the ingester by NOTIFY. A change names the version it was
based on (`If-Match`, the ETag a read gave): without it the answer is 428, and when the device
has changed since, 412 and nothing is stored. A refused entry is a 422 problem naming each bad
field as the import does; another organisation's device is a 403.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import abort, jsonify, request
from werkzeug.wrappers import Response

from register import devices, imports
from register.accounts.api_tokens import Token
from register.audit import NotAllowed
from register.queries import Conn
from register.schemas import DeviceSchema
from register.validation import FieldError, InvalidEntry
from web import database
from web.api import bearer, bodies, schemas
from web.api.openapi import CHANGES, NEW_ENTRY, Operation, documented
from web.api.routes import PREFIX, blueprint, entry_answer, load_query
from web.views.errors import problem

ENTRY_TYPES = ("application/json",)
CHANGE_TYPES = ("application/merge-patch+json", "application/json")
FILE_TYPES = {"text/csv": "csv", "application/json": "json", "application/geo+json": "geojson"}
# How the import reports a problem: "line 3, metric_unit: 'ppb' is not a SenML unit".
IMPORT_PROBLEM = re.compile(
    r"^(?P<place>(?:line|device|feature) \d+), (?P<field>[^:]*): (?P<message>.*)$", re.S
)
# What a create or an import can answer besides its success: no device is looked up by address.
WRITE_ERRORS = (401, 403, 413, 415, 422)
# A new device's entry, and a change to one, as the OpenAPI document shows them.
NEW_ENTRY_EXAMPLE = {
    "public_id": "camden-aq-0042",
    "name": "Air quality monitor",
    "status": "active",
    "latitude": 51.539,
    "longitude": -0.1426,
    "place": "lamp post 42, Camden High Street",
    "technology": ["air_quality"],
    "purposes": ["health", "planning_decision_making"],
    "data_types": ["values_time"],
    "installed_on": "2026-11-30",
    "reporting_interval": "PT15M",
    "metrics": [
        {
            "key": "no2",
            "label": "Nitrogen dioxide",
            "unit": "ug/m3",
            "retention": "P30D",
            "open_data": True,
        }
    ],
}
CHANGE_EXAMPLE = {"place": "lamp post 43, Camden High Street", "reporting_interval": "PT30M"}


def _etag(version: str) -> str:
    return f'"{version}"'


@contextmanager
def _refusals() -> Iterator[None]:
    """The register's refusals as problems, after the transaction they end has rolled back."""
    try:
        yield
    except InvalidEntry as invalid:
        abort(problem(422, f"the entry is refused: {invalid}", errors=_bad_fields(invalid.errors)))
    except NotAllowed as refused:
        abort(problem(403, str(refused)))
    except devices.StaleEntry as stale:
        current = _etag(stale.current_version)
        detail = (
            f"device {stale.public_id} has changed since the version named in If-Match, so "
            f"nothing was stored; its current ETag is {current}: read it again and make your "
            "change to what it says now"
        )
        abort(problem(412, detail, headers={"ETag": current}))
    except devices.UnknownDevice as unknown:
        abort(problem(404, f"There is no device {str(unknown)[:80]!r} in the register."))


def _bad_fields(errors: list[FieldError]) -> list[dict[str, Any]]:
    return [{"place": None, "field": e.field, "message": e.message} for e in errors]


def _own(token: Token, organisation: Any) -> None:
    """403 unless an entry names the token's own organisation (a missing one is the schema's
    to refuse)."""
    if isinstance(organisation, str) and organisation.strip() != token.organisation:
        abort(
            problem(
                403,
                f"this token writes only {token.organisation}'s devices, not those of "
                f"{organisation.strip()[:80]!r}",
            )
        )


def _answer(conn: Conn, public_id: str, status: int = 200) -> Response:
    """The device's register entry as stored now, with its version as the ETag."""
    entry = devices.get_device(conn, public_id)
    if entry is None:
        raise devices.UnknownDevice(public_id)
    return entry_answer(entry, status)


def _current(conn: Conn, public_id: str, token: Token) -> tuple[dict[str, Any], str]:
    """The token's organisation's device as it is now, and the version If-Match must name."""
    entry = devices.get_device(conn, public_id)
    if entry is None:
        raise devices.UnknownDevice(public_id)
    _own(token, entry["organisation"])
    version = devices.version_of(entry)
    if not request.headers.get("If-Match", "").strip() or request.if_match.star_tag:
        abort(
            problem(
                428,
                "send If-Match with the device's ETag, as reading it gave it, so that a change "
                "made since is not overwritten",
            )
        )
    if not request.if_match.contains(version):
        raise devices.StaleEntry(public_id, version)
    return entry, version


@blueprint.post("/devices")
@documented(
    Operation(
        summary="Register a device",
        description=(
            "Add a device of the token's organisation. The body is a device entry, as the "
            "import's JSON files and the register's exports hold them; without `organisation`, "
            "it is the token's. The answer is the entry as stored, with its ETag and its "
            "address (Location)."
        ),
        response=DeviceSchema,
        body={"application/json": NEW_ENTRY},
        example=NEW_ENTRY_EXAMPLE,
        success=201,
        headers=("ETag", "Location"),
        errors=WRITE_ERRORS,
        tags=("writes",),
    )
)
def create_device() -> Response:
    token = bearer.token()
    entry = bodies.json_object(ENTRY_TYPES)
    named = entry.get("organisation")
    if named is None or (isinstance(named, str) and not named.strip()):  # not given
        entry["organisation"] = token.organisation
    _own(token, entry["organisation"])
    with _refusals(), database.connection() as conn, conn.transaction():
        result = devices.create_device(conn, entry, token.actor())
        response = _answer(conn, result.public_id, 201)
    response.headers["Location"] = f"{PREFIX}/devices/{result.public_id}"
    return response


@blueprint.patch("/devices/<public_id>")
@documented(
    Operation(
        summary="Change a device",
        description=(
            "Change some fields of a device of the token's organisation (a JSON merge patch: "
            "the fields given replace the entry's; `metrics`, when given, replaces the whole "
            "list, and a metric left out is withdrawn: to change one metric, read the whole "
            "entry at `/api/v1/devices/{public_id}/entry`, change it, and send its `metrics` "
            "back). If-Match must name the device's current ETag. The answer is the entry as "
            "stored, with its new ETag."
        ),
        response=DeviceSchema,
        body={kind: CHANGES for kind in CHANGE_TYPES},
        example=CHANGE_EXAMPLE,
        headers=("ETag",),
        if_match=True,
        errors=(*WRITE_ERRORS, 404, 412, 428),
        tags=("writes",),
    )
)
def change_device(public_id: str) -> Response:
    token = bearer.token()
    changes = bodies.json_object(CHANGE_TYPES)
    with _refusals(), database.connection() as conn, conn.transaction():
        entry, version = _current(conn, public_id, token)
        devices.update_device(
            conn, public_id, {**entry, **changes}, token.actor(), expected_version=version
        )
        return _answer(conn, public_id)


@blueprint.delete("/devices/<public_id>")
@documented(
    Operation(
        summary="Decommission a device",
        description=(
            "Take a device of the token's organisation out of service: its status becomes "
            "decommissioned, on `on` (default today). It is archived, not deleted: its page "
            "and history stay public. If-Match must name the device's current ETag."
        ),
        response=DeviceSchema,
        query=schemas.DecommissionQuery,
        headers=("ETag",),
        if_match=True,
        errors=(401, 403, 404, 412, 422, 428),
        tags=("writes",),
    )
)
def decommission_device(public_id: str) -> Response:
    token = bearer.token()
    asked = load_query(schemas.DecommissionQuery)
    with _refusals(), database.connection() as conn, conn.transaction():
        _, version = _current(conn, public_id, token)
        devices.decommission_device(
            conn, public_id, token.actor(), on=asked.get("on"), expected_version=version
        )
        return _answer(conn, public_id)


def _read_file(kind: str, text: str) -> list[imports.Entry]:
    try:
        return imports.read(text, FILE_TYPES[kind])
    except imports.UnreadableFile as unreadable:
        abort(problem(400, f"the file cannot be read: {unreadable}"))


def _import_problem(text: str) -> dict[str, Any]:
    found = IMPORT_PROBLEM.match(text)
    if found is None:
        return {"place": None, "field": "", "message": text}
    return {"place": found["place"], "field": found["field"], "message": found["message"]}


@blueprint.post("/devices/import")
@documented(
    Operation(
        summary="Check or import a file of devices",
        description=(
            "Check a file of the token's organisation's devices, as CSV, JSON or GeoJSON (by "
            "Content-Type, in the shapes the register's exports have), and say which devices "
            "it would create, change (with each changed field before and after) or leave "
            "unchanged; or every problem, by its line, device "
            "or feature and its field. With `dry_run=false` the file is imported: every entry "
            "is stored, or none. A download of the whole register may be sent as it is after "
            "changing the organisation's own devices: another organisation's device that the "
            "file gives exactly as it is is left alone (listed in `left_alone`, never stored). "
            "An entry that would create or change another organisation's device, or take one "
            "over, makes the answer a 403 (for a dry run too), whose `errors` list the problems "
            "in the same way."
        ),
        response=schemas.ImportResult,
        query=schemas.ImportQuery,
        body={
            "text/csv": {"type": "string"},
            "application/json": {"oneOf": [{"type": "object"}, {"type": "array"}]},
            "application/geo+json": {"type": "object"},
        },
        errors=WRITE_ERRORS,
        tags=("writes",),
    )
)
def import_devices() -> Response:
    token = bearer.token()
    asked = load_query(schemas.ImportQuery)
    kind, text = bodies.text(tuple(FILE_TYPES), bodies.MAX_FILE_BYTES)
    entries = _read_file(kind, text)
    with database.connection() as conn:
        report = imports.import_entries(conn, entries, token.actor(), dry_run=asked["dry_run"])
    if not report.ok:
        errors = [_import_problem(text) for text in report.problems]
        if report.forbidden:
            # An entry creates, changes or takes over another organisation's device: a 403, as
            # any write to it is.
            detail = (
                f"this token imports only {token.organisation}'s devices; the file would "
                f"create or change devices of {', '.join(report.others_written)}: "
                f"{len(errors)} problem(s)"
            )
            abort(problem(403, detail, errors=errors))
        abort(problem(422, f"the file is refused: {len(errors)} problem(s)", errors=errors))
    found = {
        "dry_run": asked["dry_run"],
        "created": report.created,
        "changed": report.updated,
        "changes": {public_id: report.changes[public_id] for public_id in report.updated},
        "unchanged": report.unchanged,
        "left_alone": report.others_unchanged,
    }
    return jsonify(schemas.ImportResult().dump(found))
