"""Reading a write's request body: its media type, its size, UTF-8 text, then JSON.

Each kind of bad body is refused before anything is checked against the register, as an RFC
9457 problem saying what was wrong: 415 for a media type the operation does not take, 413 for
a body over its limit, 400 for text that is not UTF-8, JSON that does not parse, or a NUL
character (which PostgreSQL text cannot hold). The JSON and NUL checks are the register's own
(`register.imports`), which the command line and the console use for device files too.
"""

from __future__ import annotations

from typing import Any

from flask import abort, request

from register import imports
from web.views.errors import problem

# A device entry is a few kilobytes; a file of a borough's devices a few megabytes.
MAX_ENTRY_BYTES = 256 * 1024
MAX_FILE_BYTES = 10 * 1024 * 1024


def text(media_types: tuple[str, ...], limit: int) -> tuple[str, str]:
    """The body as text, and its media type, which must be one of `media_types`."""
    if request.mimetype not in media_types:
        sent = f"not {request.mimetype}" if request.mimetype else "not a body without one"
        abort(problem(415, f"send the body as {' or '.join(media_types)} ({sent})"))
    too_big = problem(413, f"the body is larger than {limit:,} bytes, the most this takes")
    if request.content_length is not None and request.content_length > limit:
        abort(too_big)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        abort(too_big)
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as error:
        abort(problem(400, f"the body is not UTF-8 text (byte {error.start} cannot be read)"))
    try:
        imports.refuse_nul(decoded)
    except imports.UnreadableFile as error:
        abort(problem(400, f"the body cannot be read: {error}"))
    return request.mimetype, decoded


def parse_json(body: str) -> Any:
    """JSON text as Python values, read as the register reads device files; a 400 when it is not
    JSON, or holds a NUL in a string."""
    try:
        return imports.parse_json(body)
    except imports.UnreadableFile as error:
        abort(problem(400, f"the body cannot be read: {error}"))


def json_object(media_types: tuple[str, ...]) -> dict[str, Any]:
    """The body as one JSON object (a device entry, or the fields to change)."""
    value = parse_json(text(media_types, MAX_ENTRY_BYTES)[1])
    if not isinstance(value, dict):
        abort(problem(400, f"the body must be a JSON object of fields, not {_kind(value)}"))
    return value


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return (
        "a number"
        if isinstance(value, int | float) and not isinstance(value, bool)
        else "true/false"
    )
