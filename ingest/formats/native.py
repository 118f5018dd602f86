"""Lamplighter's own JSON format: a device time and a map of metric keys to values.

Topic: `<prefix>/<organisation>/<device public id>/up`, by default `lamplighter/+/+/up`.

    {"time": "2026-11-22T20:15:00Z",
     "readings": {"no2": 23.4,
                  "pm2_5": {"value": 8.1, "unit": "ug/m3"},
                  "occupied": true}}

`time` is RFC 3339 text with a time zone, or seconds since 1970. It is required: a message
that is delivered twice must carry the same time both times, or it would be stored twice.
A value is a number, true/false, or an object with `value` and an optional SenML `unit`; a
bare value is taken to be in the declared unit. Other top-level fields are refused rather
than ignored, so that nothing a device sends is silently dropped.
"""

from __future__ import annotations

from typing import Any

from ingest import reasons
from ingest.formats.common import require_object, time_us, topic_levels, type_name
from ingest.messages import DeviceKey, DeviceRef, Parsed, Problem, RawReading, Rejected

TOPIC_LAYOUT = "<organisation>/<device>/up"
FIELDS = frozenset({"time", "readings"})
READING_FIELDS = frozenset({"value", "unit"})


def parse(topic: str, document: Any, now: float | None = None) -> Parsed:
    """The readings of one native message, or Rejected."""
    levels = topic_levels(topic, 3, TOPIC_LAYOUT)
    device = DeviceRef(keys=(DeviceKey("public_id", levels[-2]),), organisation=levels[-3])
    body = require_object(document, "the message")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise Rejected(
            reasons.INVALID_STRUCTURE,
            f"unknown field(s) {', '.join(map(repr, unknown))[:200]}; "
            "a native message has only 'time' and 'readings'",
        )
    if "time" not in body:
        raise Rejected(reasons.INVALID_TIME, "'time' is required")
    when = time_us(body["time"], "'time'")
    readings = require_object(body.get("readings"), "'readings'")
    parsed = Parsed(device, [])
    for key, given in readings.items():
        if isinstance(given, dict):
            _read_object(parsed, key, given, when)
        else:
            parsed.readings.append(RawReading(key, given, None, when))
    return parsed


def _read_object(parsed: Parsed, key: str, given: dict[str, Any], when: int) -> None:
    unknown = sorted(set(given) - READING_FIELDS)
    if unknown or "value" not in given:
        parsed.problems.append(
            Problem(
                reasons.INVALID_STRUCTURE, key, "a reading object has 'value' and optional 'unit'"
            )
        )
        return
    unit = given.get("unit")
    if unit is not None and not isinstance(unit, str):
        parsed.problems.append(
            Problem(reasons.INVALID_STRUCTURE, key, f"'unit' must be text, not {type_name(unit)}")
        )
        return
    parsed.readings.append(RawReading(key, given["value"], unit, when))
