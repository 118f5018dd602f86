"""SenML JSON (RFC 8428): a pack of records, with base fields carried from record to record.

Topic: `<prefix>/<organisation>/<device public id>/senml`, by default `lamplighter/+/+/senml`.

Resolution follows RFC 8428 section 4.6:
  - base name, time, unit, value and sum (bn, bt, bu, bv, bs) apply to their own record and
    every later one until a record changes them;
  - the name is bn + n, the time bt + t, the value bv + v, the unit u or else bu;
  - a resolved time below 2**28 is relative to now (so it is stamped on arrival);
  - bver above 10, or an unknown field whose name ends in "_", rejects the whole pack.

The metric key is the last part of the resolved name, after any ':' or '/', so both
`{"bn": "urn:dev:mac:0024befffe804ff1:", "n": "no2"}` and `{"n": "no2"}` name `no2`.
Numbers (v) and booleans (vb) are readings; text (vs), data (vd) and sums (s) are refused,
because a reading is a number.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

from ingest import reasons
from ingest.formats.common import topic_levels, type_name
from ingest.messages import DeviceKey, DeviceRef, Parsed, Problem, RawReading, Rejected

TOPIC_LAYOUT = "<organisation>/<device>/senml"
SUPPORTED_VERSION = 10
RELATIVE_TIME_LIMIT = 2**28
LATEST_SECONDS = 253402300799  # 9999-12-31T23:59:59Z
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:./_-]*$")
KEY_SEPARATORS = re.compile(r"[:/]")

_NUMBERS = ("bt", "bv", "bs", "v", "s", "t", "ut")
_TEXTS = ("bn", "bu", "n", "u", "vs", "vd")
KNOWN_FIELDS = frozenset((*_NUMBERS, *_TEXTS, "bver", "vb"))
VALUE_FIELDS = ("v", "vs", "vb", "vd")


def parse(topic: str, document: Any, now: float | None = None) -> Parsed:
    """The readings of one SenML pack, or Rejected."""
    levels = topic_levels(topic, 3, TOPIC_LAYOUT)
    device = DeviceRef(keys=(DeviceKey("public_id", levels[-2]),), organisation=levels[-3])
    if not isinstance(document, list) or not document:
        raise Rejected(
            reasons.INVALID_STRUCTURE,
            f"a SenML pack is a non-empty list of records, not {type_name(document)}",
        )
    now = time.time() if now is None else now
    parsed = Parsed(device, [])
    base: dict[str, Any] = {"bn": "", "bt": 0.0, "bu": None, "bv": 0.0, "bs": 0.0}
    for number, record in enumerate(document):
        _check_record(record, number)
        base.update({k: record[k] for k in base if k in record})
        _resolve(parsed, record, number, base, now)
    return parsed


def _check_record(record: Any, number: int) -> None:
    where = f"record {number}"
    if not isinstance(record, dict):
        raise Rejected(
            reasons.INVALID_STRUCTURE, f"{where} must be an object, not {type_name(record)}"
        )
    for name, value in record.items():
        if name not in KNOWN_FIELDS:
            if name.endswith("_"):
                raise Rejected(
                    reasons.UNSUPPORTED_SENML,
                    f"{where} has the must-understand field {name[:40]!r}, which is not supported",
                )
            continue
        _check_type(name, value, where)
    if record.get("bver", SUPPORTED_VERSION) > SUPPORTED_VERSION:
        raise Rejected(
            reasons.UNSUPPORTED_SENML,
            f"{where} needs SenML version {record['bver']}; "
            f"version {SUPPORTED_VERSION} is supported",
        )
    if sum(field in record for field in VALUE_FIELDS) > 1:
        raise Rejected(reasons.INVALID_STRUCTURE, f"{where} has more than one value field")


def _check_type(name: str, value: Any, where: str) -> None:
    if name in _NUMBERS:
        # Whole numbers beyond 64 bits are refused: added to a float (bt + t) they overflow.
        good = isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63
        good = good or (isinstance(value, float) and math.isfinite(value))
        expected = "a finite number"
    elif name in _TEXTS:
        good, expected = isinstance(value, str), "text"
    elif name == "bver":
        good = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        expected = "a whole number"
    else:  # vb
        good, expected = isinstance(value, bool), "true/false"
    if not good:
        raise Rejected(
            reasons.INVALID_STRUCTURE,
            f"{where}: {name!r} must be {expected}, not {type_name(value)}",
        )


def _resolve(
    parsed: Parsed, record: dict[str, Any], number: int, base: dict[str, Any], now: float
) -> None:
    has_value = any(field in record for field in VALUE_FIELDS) or "s" in record
    name = base["bn"] + record.get("n", "")
    if not has_value:
        if "n" in record:
            parsed.problems.append(
                Problem(
                    reasons.INVALID_VALUE, name or f"record {number}", "the record has no value"
                )
            )
        return  # a record that only sets base fields
    if not NAME.fullmatch(name):
        raise Rejected(
            reasons.INVALID_STRUCTURE, f"record {number}: {name[:80]!r} is not a valid SenML name"
        )
    key = KEY_SEPARATORS.split(name)[-1]
    if not key:
        parsed.problems.append(
            Problem(reasons.INVALID_STRUCTURE, name, "the name ends without a metric key")
        )
        return
    when = base["bt"] + record.get("t", 0.0)
    if when < RELATIVE_TIME_LIMIT:
        when += now
    if not 0 <= when <= LATEST_SECONDS:
        parsed.problems.append(Problem(reasons.INVALID_TIME, key, f"time {when!r} is not a time"))
        return
    unit = record.get("u", base["bu"])
    parsed.readings.append(RawReading(key, _value(record, base), unit, round(when * 1_000_000)))
    if "s" in record and any(field in record for field in VALUE_FIELDS):
        parsed.problems.append(Problem(reasons.INVALID_VALUE, key, "sums (s) are not stored"))


def _value(record: dict[str, Any], base: dict[str, Any]) -> Any:
    if "v" in record:
        return base["bv"] + record["v"]
    if "vb" in record:
        return record["vb"]
    if "vs" in record:
        return record["vs"]
    if "vd" in record:
        return Unstorable("data values (vd) are not stored")
    return Unstorable("sums (s) are not stored")


class Unstorable(str):
    """A SenML value of a kind a reading cannot hold; the checks quarantine it with this text."""

    __slots__ = ()
