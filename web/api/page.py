"""`/api`: API v1 for people, a page read from the same OpenAPI document the API serves (with a
curl command for each write, and its example body); and its JSON twin, `/api.json`, which is
that document."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from web.api import openapi

blueprint = Blueprint("api_page", __name__)
EXAMPLE_QUERIES = {
    "/api/v1/devices": "?near=51.5390,-0.1426&radius=500",
    "/api/v1/devices/{public_id}/readings": "?metric=no2&bucket=1h",
}
# A write's example: the file its body comes from, when it has no example body of its own.
EXAMPLE_FILES = {"/api/v1/devices/import": ("text/csv", "devices.csv", "?dry_run=true")}


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


def _success(operation: dict[str, Any]) -> tuple[str, str | None]:
    """An operation's answer when it works: its status, and its schema's name (None for an
    answer without a body, such as a 204)."""
    code = next(code for code in operation["responses"] if code.startswith("2"))
    content = operation["responses"][code].get("content")
    return code, None if content is None else _schema_name(content["application/json"]["schema"])


def _example(path: str, method: str, operation: dict[str, Any]) -> str | None:
    """A request to try in a browser; None for a write, or a read that needs a token, which a
    link cannot make."""
    if method != "get" or "security" in operation:
        return None
    return _address(path, operation) + EXAMPLE_QUERIES.get(path, "")


def _address(path: str, operation: dict[str, Any]) -> str:
    """The path with each of its parameters' example values."""
    for parameter in operation["parameters"]:
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", parameter["example"])
    return path


def example_body(operation: dict[str, Any]) -> Any:
    """The example body the document gives a write, or None."""
    for content in operation.get("requestBody", {}).get("content", {}).values():
        if "example" in content:
            return content["example"]
    return None


def curl(base: str, path: str, method: str, operation: dict[str, Any]) -> str | None:
    """A write as a curl command, with its example body; None for a read."""
    if "security" not in operation:
        return None
    kind, file_name, query = EXAMPLE_FILES.get(path, ("application/json", "", ""))
    # The token is a shell variable, so its header is in double quotes; the rest are quoted.
    words = ["curl", "-X", method.upper(), '-H "Authorization: Bearer $TOKEN"']
    if any(p["name"] == "If-Match" for p in operation["parameters"]):
        words += ["-H", shlex.quote('If-Match: "<the ETag a read gave>"')]
    body = example_body(operation)
    if body is not None or file_name:
        data = (
            ["--data", json.dumps(body)] if body is not None else ["--data-binary", f"@{file_name}"]
        )
        words += ["-H", shlex.quote(f"Content-Type: {kind}"), data[0], shlex.quote(data[1])]
    return " ".join([*words, shlex.quote(base + _address(path, operation) + query)])


def _operations(document: dict[str, Any], base: str) -> list[dict[str, Any]]:
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            success, returns = _success(operation)
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
                    "curl": curl(base, path, method, operation),
                    "example_body": (
                        None
                        if example_body(operation) is None
                        else json.dumps(example_body(operation), indent=2)
                    ),
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
                    "returns": returns,
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
        operations=_operations(document, request.host_url.rstrip("/")),
        base=request.host_url.rstrip("/"),
        schemas=_schemas(document),
    )


@blueprint.get("/api.json")
def api_json() -> Response:
    return jsonify(openapi.current_document())
