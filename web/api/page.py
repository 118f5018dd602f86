"""`/api`: API v1 for people, a page read from the same OpenAPI document the API serves; and
its JSON twin, `/api.json`, which is that document."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, jsonify, render_template
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from web.api import openapi

blueprint = Blueprint("api_page", __name__)
EXAMPLE_QUERIES = {
    "/api/v1/devices": "?near=51.5390,-0.1426&radius=500",
    "/api/v1/devices/{public_id}/readings": "?metric=no2&bucket=1h",
}


def words(text: str) -> Markup:
    """A description as HTML: escaped, with CommonMark's `code` spans shown as code."""
    parts = re.split(r"`([^`]+)`", text)
    code = Markup("<code>{}</code>")
    return Markup("").join(code.format(p) if i % 2 else escape(p) for i, p in enumerate(parts))


def _schema_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[-1]


def type_text(schema: dict[str, Any]) -> str:
    """A JSON schema in a few words: "text, one of: a, b", "list of Term", "Device"."""
    if "$ref" in schema:
        return _schema_name(schema)
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"list of {type_text(schema.get('items', {}))}"
    words = {"string": "text", "integer": "whole number", "boolean": "true/false"}.get(kind, kind)
    if schema.get("format") in ("date", "date-time"):
        words = "date" if schema["format"] == "date" else "date and time (RFC 3339)"
    if "enum" in schema:
        words += ", one of: " + ", ".join(str(v) for v in schema["enum"])
    elif "pattern" in schema and kind == "string":
        words += f", matching {schema['pattern']}"
    lowest = "above" if schema.get("exclusiveMinimum") else "from"  # OpenAPI 3.0: a boolean
    bounds = [f"{word} {schema[key]}" for key, word in (("minimum", lowest), ("maximum", "to"),
              ("maxLength", "at most characters:")) if key in schema]  # fmt: skip
    if bounds:
        words += " (" + ", ".join(bounds) + ")"
    if schema.get("nullable"):
        words += ", or null"
    return words


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An operation's answer when it works: its status and schema."""
    code = next(code for code in operation["responses"] if code.startswith("2"))
    return code, operation["responses"][code]["content"]["application/json"]["schema"]


def _example(path: str, method: str, operation: dict[str, Any]) -> str | None:
    """A request to try in a browser; None for a write, which a link cannot make."""
    if method != "get":
        return None
    example = path
    for parameter in operation["parameters"]:
        if parameter["in"] == "path":
            example = example.replace("{" + parameter["name"] + "}", parameter["example"])
    return example + EXAMPLE_QUERIES.get(path, "")


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            success, answer = _success(operation)
            body = operation.get("requestBody", {}).get("content", {})
            anchor = path.strip("/").replace("/", "-").replace("{", "").replace("}", "")
            found.append(
                {
                    "path": path,
                    "method": method.upper(),
                    "anchor": anchor if method == "get" else f"{method}-{anchor}",
                    "summary": operation["summary"],
                    "description": words(operation["description"]),
                    "example": _example(path, method, operation),
                    "token": "security" in operation,
                    "body": [(kind, type_text(shape["schema"])) for kind, shape in body.items()],
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "required": p.get("required", False),
                            "type": type_text(p["schema"]),
                            "description": words(p.get("description", "")),
                        }
                        for p in operation["parameters"]
                    ],
                    "success": success,
                    "returns": _schema_name(answer),
                    "errors": [
                        (code, answer["description"])
                        for code, answer in operation["responses"].items()
                        if code != success
                    ],
                }
            )
    return found


def _schemas(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "fields": [
                {
                    "name": field,
                    "type": type_text(spec),
                    "description": words(spec.get("description", "")),
                }
                for field, spec in schema["properties"].items()
            ],
        }
        for name, schema in sorted(document["components"]["schemas"].items())
    ]


@blueprint.get("/api")
def api_page() -> str:
    document = openapi.current_document()
    return render_template(
        "api.html",
        info=document["info"],
        operations=_operations(document),
        schemas=_schemas(document),
    )


@blueprint.get("/api.json")
def api_json() -> Response:
    return jsonify(openapi.current_document())
