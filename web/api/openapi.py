"""API v1's OpenAPI 3 document, built with apispec from the marshmallow schemas in
`web.api.schemas` and from each route's `documented` description.

A route says what it is for, which schema its answer has, which query schema its parameters
have (or, for the device list, which filters: `web.device_filters.FILTERS`, the table that reads
them) and which errors it can give; a write also says what body it takes, that it needs an API
token (the `bearerAuth` scheme, as a device's credential does even to read it), and which
headers it reads and sends (If-Match, ETag, Cache-Control). The path and the method come from
Flask's own URL map, so the document lists exactly the routes that exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app
from marshmallow import Schema, fields
from werkzeug.http import HTTP_STATUS_CODES

from register import vocab
from register.schemas import METRIC_KEY, SLUG, DeviceSchema, MetricSchema, Retention, Term
from web import database, device_filters, queries
from web.api import schemas

VERSION = "1.0.0"
CHANGES = {"$ref": "#/components/schemas/DeviceChanges"}
NEW_ENTRY = {"$ref": "#/components/schemas/NewDeviceEntry"}
ERROR_TEXT = {
    400: "A parameter is wrong; `detail` says which and why.",
    403: "The data exists but is not published; `detail` says why.",
    404: "There is no such thing in the register; `detail` says what was looked for.",
}
# A write's errors: the token, the body, and the version it was based on.
WRITE_ERROR_TEXT = {
    400: "A parameter or the body is wrong (not JSON, not an object, a NUL character).",
    401: "No API token, or one that is unknown, revoked or expired; `detail` says which.",
    403: (
        "The device or entry belongs to another organisation than the token's; an import's "
        "`errors` name each such entry."
    ),
    404: "There is no such device in the register.",
    412: (
        "The device changed since the version named in If-Match, and nothing was stored; the "
        "answer's ETag is its current version: read it again and make the change to that."
    ),
    413: "The body is larger than this operation takes.",
    415: "The body's Content-Type is not one this operation takes.",
    422: "The entry is refused: `errors` names each bad field, as the import does.",
    428: "If-Match is missing: send the device's ETag, from reading it.",
}
HEADERS = {
    "ETag": "The version of the device's register entry; send it back in If-Match to change it.",
    "Location": "The new device's address in the API.",
    "Cache-Control": "no-store: the answer holds a secret shown once, which nothing may keep.",
}
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "An API token of the organisation, made by its engineers at /console/tokens or with "
        "`lamplighter tokens create`. It may change only that organisation's devices."
    ),
}
# Each path parameter's description, example value and JSON schema.
PATH_PARAMETERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "public_id": ("The device's public id.", "camden-aq-0001", {"pattern": SLUG.pattern}),
    "slug": ("The organisation's slug.", "camden", {"pattern": SLUG.pattern}),
    "category": (
        "A DTPR category (the list is at /api/v1/vocabularies).",
        "purpose",
        {"enum": vocab.categories()},
    ),
}
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    summary: str
    description: str
    # None for an answer without a body (204).
    response: type[Schema] | None
    query: type[Schema] | None = None
    filters: tuple[device_filters.Filter, ...] = ()
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = field(default_factory=tuple)
    # A write: its body's schema by media type (a schema class or a JSON schema), its success
    # status, the headers its answer sends, and whether it needs If-Match.
    body: dict[str, Any] = field(default_factory=dict)
    success: int = 200
    headers: tuple[str, ...] = ()
    if_match: bool = False
    # An example body, shown with every media type the operation takes.
    example: Any = None
    # Needs an API token though it takes no body (a device's credential, read or revoked).
    token: bool = False
    # What an error means here, where it differs from what it means for every write.
    error_text: dict[int, str] = field(default_factory=dict)

    @property
    def writes(self) -> bool:
        return bool(self.body) or self.if_match or self.token


# By view function name; filled in by `documented` as the routes module is imported.
OPERATIONS: dict[str, Operation] = {}


def documented(operation: Operation) -> Callable[[View], View]:
    """Record a view's OpenAPI description."""

    def record(view: View) -> View:
        OPERATIONS[view.__name__] = operation
        return view

    return record


def _problem(status: int, operation: Operation) -> dict[str, Any]:
    shape = schemas.Invalid if status == 422 else schemas.Problem
    text = WRITE_ERROR_TEXT if operation.writes else ERROR_TEXT
    return {
        "description": operation.error_text.get(status) or text[status],
        "content": {"application/problem+json": {"schema": shape}},
    }


def _filter_parameter(found: device_filters.Filter) -> dict[str, Any]:
    return {
        "in": "query",
        "name": found.name,
        "required": False,
        "description": found.description,
        "example": found.example,
        # A copy: `build` adds the register's organisations to one, for one document only.
        "schema": dict(found.schema),
    }


def _operation(operation: Operation, path_arguments: list[str]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "in": "path",
            "name": name,
            "required": True,
            "description": PATH_PARAMETERS[name][0],
            "example": PATH_PARAMETERS[name][1],
            "schema": {"type": "string", **PATH_PARAMETERS[name][2]},
        }
        for name in path_arguments
    ]
    if operation.query is not None:
        parameters.append({"in": "query", "schema": operation.query})
    parameters.extend(_filter_parameter(found) for found in operation.filters)
    if operation.if_match:
        parameters.append(
            {
                "in": "header",
                "name": "If-Match",
                "required": True,
                "description": "The device's ETag, as reading it gave it.",
                "schema": {"type": "string"},
            }
        )
    success: dict[str, Any] = {"description": HTTP_STATUS_CODES[operation.success]}
    if operation.response is not None:
        success["content"] = {"application/json": {"schema": operation.response}}
    if operation.headers:
        success["headers"] = {
            name: {"description": HEADERS[name], "required": True, "schema": {"type": "string"}}
            for name in operation.headers
        }
    responses: dict[str, Any] = {str(operation.success): success}
    writes = operation.writes
    for status in sorted({400, *operation.errors, *((401,) if writes else ())}):
        responses[str(status)] = _problem(status, operation)
    found: dict[str, Any] = {
        "summary": operation.summary,
        "description": operation.description,
        "tags": list(operation.tags),
        "parameters": parameters,
        "responses": responses,
    }
    if operation.body:
        found["requestBody"] = {
            "required": True,
            "content": {
                kind: {"schema": shape}
                | ({} if operation.example is None else {"example": operation.example})
                for kind, shape in operation.body.items()
            },
        }
    if writes:
        found["security"] = [{"bearerAuth": []}]
    return found


def build(app: Flask, organisations: list[str]) -> dict[str, Any]:
    """The OpenAPI document of the API routes registered on `app`; the device list's
    `organisation` filter lists the register's `organisations` (slugs)."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Lamplighter register API",
        version=VERSION,
        openapi_version="3.0.3",
        plugins=[plugin],
        info={
            "description": (
                "The public register of sensors in public places: devices, their history, "
                "organisations, the DTPR vocabularies, and open readings, for anyone to read "
                "(personal-data metrics' readings are never served); and, with an "
                "organisation's API token, writes to that organisation's devices and their "
                "MQTT credentials."
            ),
            "license": {"name": "Open Government Licence v3.0"},
        },
    )
    # A period (retention, reporting interval) is text: ISO 8601, or words the register reads.
    plugin.map_to_openapi_type(Retention, "string", None)  # type: ignore[no-untyped-call]
    spec.components.security_scheme("bearerAuth", SECURITY_SCHEME)
    # The register's own schemas, named apart from the answers' Device and Metric.
    spec.components.schema("DeclaredMetric", schema=MetricSchema)
    spec.components.schema("DeviceEntry", schema=DeviceSchema)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        view_name = rule.endpoint.rsplit(".", 1)[-1]
        operation = OPERATIONS.get(view_name)
        if operation is None or not rule.endpoint.startswith("api."):
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        found = paths.setdefault(_RULE_ARGUMENT.sub(r"{\1}", rule.rule), {})
        for method in methods:
            found[method.lower()] = _operation(operation, _RULE_ARGUMENT.findall(rule.rule))
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    components = document["components"]["schemas"]
    _name_the_vocabularies(components)
    components["DeviceChanges"] = {
        **{key: value for key, value in components["DeviceEntry"].items() if key != "required"},
        "description": "Fields of a DeviceEntry to change; `metrics`, if given, replaces the list.",
    }
    organisation = components["DeviceEntry"]["properties"]["organisation"]
    components["NewDeviceEntry"] = {
        **components["DeviceEntry"],
        "properties": {
            **components["DeviceEntry"]["properties"],
            "organisation": {**organisation, "nullable": True},
        },
        "required": [
            name for name in components["DeviceEntry"]["required"] if name != "organisation"
        ],
        "description": "A DeviceEntry to register; without `organisation`, it is the token's.",
    }
    _no_null_in_enums(document)
    for parameter in document["paths"].get("/api/v1/devices", {}).get("get", {})["parameters"]:
        if parameter["name"] == "organisation" and organisations:  # JSON Schema: no empty enum
            parameter["schema"]["enum"] = organisations
    return document


def _no_null_in_enums(schema: Any) -> None:
    """Take null out of every enum: apispec adds it to a nullable field's, where OpenAPI 3.0's
    `nullable: true` already says that null is allowed."""
    if isinstance(schema, dict):
        if isinstance(schema.get("enum"), list):
            schema["enum"] = [value for value in schema["enum"] if value is not None]
        for value in schema.values():
            _no_null_in_enums(value)
    elif isinstance(schema, list):
        for value in schema:
            _no_null_in_enums(value)


def _name_the_vocabularies(components: dict[str, Any]) -> None:
    """List the terms and units an entry may name, and the forms of its ids, as the register's
    schemas check them, so that a client (and schemathesis) can know them from the document."""
    entry = components["DeviceEntry"]["properties"]
    for name, declared in DeviceSchema._declared_fields.items():
        if isinstance(declared, fields.List) and isinstance(declared.inner, Term):
            terms = [term.id for term in vocab.terms(declared.inner.category)]
            entry[name]["items"] = {**entry[name]["items"], "enum": terms}
    entry["public_id"].update(pattern=SLUG.pattern, maxLength=64)
    entry["dev_eui"].update(pattern=r"^[0-9A-Fa-f]{16}$")
    metric = components["DeclaredMetric"]["properties"]
    metric["key"].update(pattern=METRIC_KEY.pattern, maxLength=64)
    # Empty only for a yes/no metric.
    metric["unit"]["enum"] = ["", *sorted(vocab.units())]


def current_document() -> dict[str, Any]:
    """The document of this application, listing the register's organisations as they are now."""
    with database.connection() as conn:
        slugs = [slug for slug, _ in queries.list_organisation_slugs(conn)]
    return build(current_app, slugs)
