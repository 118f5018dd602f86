"""API v1's OpenAPI 3 document, built with apispec from the marshmallow schemas in
`web.api.schemas` and from each route's `documented` description.

A route says what it is for, which schema its answer has, which query schema its parameters
have (or, for the device list, which filters: `web.device_filters.FILTERS`, the table that reads
them) and which errors it can give; the path comes from Flask's own URL map, so the document
lists exactly the routes that exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app
from marshmallow import Schema

from register import vocab
from register.schemas import SLUG
from web import database, device_filters, queries
from web.api import schemas

VERSION = "1.0.0"
ERROR_TEXT = {
    400: "A parameter is wrong; `detail` says which and why.",
    403: "The data exists but is not published; `detail` says why.",
    404: "There is no such thing in the register; `detail` says what was looked for.",
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
    response: type[Schema]
    query: type[Schema] | None = None
    filters: tuple[device_filters.Filter, ...] = ()
    errors: tuple[int, ...] = ()
    tags: tuple[str, ...] = field(default_factory=tuple)


# By view function name; filled in by `documented` as the routes module is imported.
OPERATIONS: dict[str, Operation] = {}


def documented(operation: Operation) -> Callable[[View], View]:
    """Record a view's OpenAPI description."""

    def record(view: View) -> View:
        OPERATIONS[view.__name__] = operation
        return view

    return record


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": ERROR_TEXT[status],
        "content": {"application/problem+json": {"schema": schemas.Problem}},
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
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": operation.response}},
        }
    }
    for status in sorted({400, *operation.errors}):
        responses[str(status)] = _problem(status)
    return {
        "summary": operation.summary,
        "description": operation.description,
        "tags": list(operation.tags),
        "parameters": parameters,
        "responses": responses,
    }


def build(app: Flask, organisations: list[str]) -> dict[str, Any]:
    """The OpenAPI document of the API routes registered on `app`; the device list's
    `organisation` filter lists the register's `organisations` (slugs)."""
    spec = APISpec(
        title="Lamplighter register API",
        version=VERSION,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": (
                "Read-only access to the public register of sensors in public places: "
                "devices, their history, organisations, the DTPR vocabularies, and open "
                "readings. Personal-data metrics' readings are never served."
            ),
            "license": {"name": "Open Government Licence v3.0"},
        },
    )
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)
    for rule in rules:
        view_name = rule.endpoint.rsplit(".", 1)[-1]
        operation = OPERATIONS.get(view_name)
        if operation is None or not rule.endpoint.startswith("api."):
            continue
        spec.path(
            path=_RULE_ARGUMENT.sub(r"{\1}", rule.rule),
            operations={"get": _operation(operation, _RULE_ARGUMENT.findall(rule.rule))},
        )
    document = spec.to_dict()
    for parameter in document["paths"].get("/api/v1/devices", {}).get("get", {})["parameters"]:
        if parameter["name"] == "organisation" and organisations:  # JSON Schema: no empty enum
            parameter["schema"]["enum"] = organisations
    return document


def current_document() -> dict[str, Any]:
    """The document of this application, listing the register's organisations as they are now."""
    with database.connection() as conn:
        slugs = [slug for slug, _ in queries.list_organisation_slugs(conn)]
    return build(current_app, slugs)
