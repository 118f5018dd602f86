"""What the payload formats share: JSON decoding, times, and reading ids out of topics."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ingest import reasons
from ingest.messages import Rejected

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
# RFC 3339 date-time (a space is allowed for the "T", as RFC 3339 permits). datetime.fromisoformat
# alone would also take week dates and other ISO 8601 forms no sensor means.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?")
# datetime.fromisoformat keeps at most microseconds; network servers send nanoseconds.
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_LATEST_US = 253402300799 * 1_000_000  # 9999-12-31T23:59:59Z, the last time PostgreSQL shows


def decode_json(payload: bytes) -> Any:
    """The payload as JSON, or Rejected(invalid_json)."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses integers beyond 64 bits, which are valid JSON; the standard library reads
    # them. Anything it also refuses is really not JSON.
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise Rejected(
            reasons.INVALID_JSON, f"the payload is not JSON: {_first_line(error)}"
        ) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__


def time_us(value: Any, what: str = "time") -> int:
    """A time given as RFC 3339 text or as seconds since the epoch, in microseconds.

    Raises Rejected(invalid_time) for anything else, including text without a time zone:
    a sensor's local time cannot be placed on the timeline.
    """
    if isinstance(value, bool):
        raise Rejected(reasons.INVALID_TIME, f"{what} must be a time, not {json.dumps(value)}")
    if isinstance(value, int | float):
        if value < 0 or value > _LATEST_US / 1_000_000 or not math.isfinite(value):
            raise Rejected(reasons.INVALID_TIME, f"{what} {value!r} is not a time")
        micros = round(value * 1_000_000)
    elif isinstance(value, str):
        micros = _text_time_us(value, what)
    else:
        raise Rejected(
            reasons.INVALID_TIME,
            f"{what} must be RFC 3339 text or seconds since 1970, not {type_name(value)}",
        )
    if micros > _LATEST_US:
        raise Rejected(reasons.INVALID_TIME, f"{what} {value!r} is not a time")
    return micros


def _text_time_us(text: str, what: str) -> int:
    shown = text[:60]
    if not _RFC3339.fullmatch(text.strip()):
        raise Rejected(
            reasons.INVALID_TIME, f"{what} {shown!r} is not RFC 3339 (e.g. 2026-11-22T20:15:00Z)"
        )
    try:
        parsed = datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", text.strip().upper()))
    except ValueError:
        raise Rejected(
            reasons.INVALID_TIME, f"{what} {shown!r} is not RFC 3339 (e.g. 2026-11-22T20:15:00Z)"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise Rejected(reasons.INVALID_TIME, f"{what} {shown!r} has no time zone (add Z or +00:00)")
    try:
        return (parsed - EPOCH) // _ONE_MICROSECOND
    except OverflowError:
        raise Rejected(reasons.INVALID_TIME, f"{what} {shown!r} is not a time") from None


def type_name(value: Any) -> str:  # noqa: PLR0911 - one return per JSON type
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def require_object(value: Any, what: str) -> dict[str, Any]:
    """`value` if it is a JSON object, else Rejected(invalid_structure)."""
    if not isinstance(value, dict):
        raise Rejected(
            reasons.INVALID_STRUCTURE, f"{what} must be an object, not {type_name(value)}"
        )
    return value


def require_text(value: Any, what: str) -> str:
    """`value` if it is non-empty JSON text, else Rejected(invalid_structure)."""
    if not isinstance(value, str) or not value:
        raise Rejected(reasons.INVALID_STRUCTURE, f"{what} must be non-empty text")
    return value


def topic_levels(topic: str, count: int, layout: str) -> list[str]:
    """The topic's levels, or Rejected(invalid_structure) when it has fewer than `count`."""
    levels = topic.split("/")
    if len(levels) < count or any(not level for level in levels[-count:]):
        raise Rejected(
            reasons.INVALID_STRUCTURE, f"topic {topic[:120]!r} does not end like {layout}"
        )
    return levels


def normalise_dev_eui(value: str) -> str:
    """A DevEUI in the register's form: 16 upper-case hex digits, separators removed."""
    return value.replace("-", "").replace(":", "").upper()
