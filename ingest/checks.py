"""The trust rules, applied to one message: what may be stored, and what goes to quarantine.

`check_message` is a pure function of the message, the register cache and the clock, so that
tests and fuzzing can call it without a broker or a database. A message that is partly good
keeps its good readings; each kind of problem becomes one quarantine entry naming the metrics.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ingest import reasons
from ingest.formats import PARSERS
from ingest.formats.common import decode_json, type_name
from ingest.formats.senml import Unstorable
from ingest.messages import Message, Parsed, RawReading, Rejected, Rejection, StagedReading
from ingest.register_cache import Device, Metric, RegisterCache
from ingest.units import conversion
from register import vocab

log = logging.getLogger(__name__)

# Each quarantine entry names at most this many metric keys, then "and N more".
KEYS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int
    future_skew_us: int


@dataclass(slots=True)
class Outcome:
    """What to do with one message."""

    rows: list[StagedReading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    device_id: int | None = None
    # Readings of metrics declared "not retained": used on arrival, never stored, not an error.
    not_retained: int = 0
    rejected_readings: dict[str, int] = field(default_factory=dict)

    def first_time_us(self) -> int | None:
        """The time of the message's first stored reading (for the publish-to-commit delay)."""
        return self.rows[0][0] if self.rows else None

    def newest_time_us(self) -> int | None:
        """The time of the message's newest stored reading (for the device's last-seen time)."""
        return max(row[0] for row in self.rows) if self.rows else None


def check_message(
    message: Message, format_name: str, cache: RegisterCache, limits: Limits, now_us: int
) -> Outcome:
    """Parse one message and hold it to the register. Never raises."""
    outcome = Outcome()
    try:
        if len(message.payload) > limits.max_payload_bytes:
            raise Rejected(
                reasons.PAYLOAD_TOO_LARGE,
                f"the payload is {len(message.payload)} bytes; "
                f"the limit is {limits.max_payload_bytes}",
            )
        parsed = PARSERS[format_name](
            message.topic, decode_json(message.payload), message.received_us / 1_000_000
        )
        device = _find_device(parsed, cache)
        outcome.device_id = device.id
        _check_readings(
            outcome, parsed, device, limits=limits, now_us=now_us, received=message.received_us
        )
    except Rejected as rejection:
        outcome.rows.clear()
        outcome.rejections = [Rejection(rejection.reason, rejection.text, rejection.device_id)]
        # A known device that was refused was still heard from: it counts for "last seen".
        outcome.device_id = rejection.device_id
    except Exception:
        # A bug must cost one message, never the ingester: quarantine it and say so loudly.
        log.exception("failed on a message from %s on %r", message.source, message.topic)
        outcome.rows.clear()
        outcome.rejections = [
            Rejection(
                reasons.INTERNAL_ERROR, "the ingester failed on this message", outcome.device_id
            )
        ]
    return outcome


def _find_device(parsed: Parsed, cache: RegisterCache) -> Device:
    device = cache.find(parsed.device.keys)
    if device is None:
        named = " or ".join(f"{key.kind} {key.value[:80]!r}" for key in parsed.device.keys)
        raise Rejected(reasons.UNKNOWN_DEVICE, f"no device in the register has {named}")
    for claimed in parsed.device.keys:
        registered = device.registered_key(claimed.kind)
        if registered is not None and registered != claimed.value:
            # Found by another id (a DevEUI), but this one names someone else: refuse rather
            # than let one device's id stand in for another's.
            raise Rejected(
                reasons.TOPIC_MISMATCH,
                f"the message names {claimed.kind} {claimed.value[:80]!r}; "
                f"{device.public_id} is registered "
                f"with {registered!r}",
                device.id,
            )
    if parsed.device.organisation not in (None, device.organisation):
        raise Rejected(
            reasons.TOPIC_MISMATCH,
            f"the topic names organisation {parsed.device.organisation[:64]!r}; "
            f"{device.public_id} belongs to {device.organisation!r}",
            device.id,
        )
    if device.status == "decommissioned":
        raise Rejected(
            reasons.DEVICE_DECOMMISSIONED, f"{device.public_id} is decommissioned", device.id
        )
    if device.status != "active":
        raise Rejected(
            reasons.DEVICE_NOT_ACTIVE,
            f"{device.public_id} is {device.status}, not active",
            device.id,
        )
    return device


def _check_readings(
    outcome: Outcome, parsed: Parsed, device: Device, *, limits: Limits, now_us: int, received: int
) -> None:
    if not parsed.readings and not parsed.problems:
        raise Rejected(reasons.NO_READINGS, "the message holds no readings", device.id)
    problems: dict[str, list[str]] = defaultdict(list)
    details: dict[str, str] = {}
    for problem in parsed.problems:
        problems[problem.reason].append(problem.key)
        details.setdefault(problem.reason, problem.text)
    for reading in parsed.readings:
        try:
            row = _check_reading(reading, device, limits, now_us, received)
        except Rejected as rejection:
            problems[rejection.reason].append(str(reading.key))
            details.setdefault(rejection.reason, rejection.text)
            continue
        if row is None:
            outcome.not_retained += 1
        else:
            outcome.rows.append(row)
    for reason, keys in problems.items():
        outcome.rejected_readings[reason] = len(keys)
        outcome.rejections.append(
            Rejection(reason, _summary(device, keys, details[reason]), device.id)
        )


def _summary(device: Device, keys: list[str], first_detail: str) -> str:
    shown = ", ".join(k[:64] for k in keys[:KEYS_SHOWN])
    more = f" and {len(keys) - KEYS_SHOWN} more" if len(keys) > KEYS_SHOWN else ""
    return f"{device.public_id}: {shown}{more}: {first_detail}"


def _check_reading(
    reading: RawReading, device: Device, limits: Limits, now_us: int, received_us: int
) -> StagedReading | None:
    metric = device.metrics.get(reading.key) if isinstance(reading.key, str) else None
    if metric is None:
        raise Rejected(reasons.UNDECLARED_METRIC, "not declared for this device")
    value = _value(reading.value, metric)
    value = _in_declared_unit(value, reading.unit, metric)
    when = received_us if reading.time_us is None else reading.time_us
    if when > now_us + limits.future_skew_us:
        ahead = (when - now_us) / 1_000_000
        raise Rejected(reasons.FUTURE_TIME, f"the time is {ahead:.0f} s ahead of the clock")
    if metric.retention_us == 0:
        return None
    if when < now_us - metric.retention_us:
        age_days = (now_us - when) / 86_400_000_000
        raise Rejected(
            reasons.PAST_RETENTION,
            f"the reading is {age_days:.1f} days old; {metric.key} is kept for "
            f"{metric.retention_us / 86_400_000_000:g} days",
        )
    return (when, device.id, metric.id, value)


def _value(value: Any, metric: Metric) -> float:
    if isinstance(value, bool):
        if not metric.boolean:
            raise Rejected(reasons.INVALID_VALUE, f"{metric.key} is a number, not true/false")
        return 1.0 if value else 0.0
    if isinstance(value, Unstorable):
        raise Rejected(reasons.INVALID_VALUE, str(value))
    if not isinstance(value, int | float):
        raise Rejected(reasons.INVALID_VALUE, f"a value must be a number, not {type_name(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise Rejected(reasons.INVALID_VALUE, f"{value!r:.40} is not a finite number")
    if metric.boolean and number not in (0.0, 1.0):
        raise Rejected(reasons.INVALID_VALUE, f"{metric.key} is yes/no: true, false, 1 or 0")
    return number


def _in_declared_unit(value: float, unit: Any, metric: Metric) -> float:
    if unit is None or unit == metric.unit:
        return value
    # Only registry units reach `conversion`, whose cache must not grow with what devices send.
    known = vocab.units()
    factors = conversion(unit, metric.unit) if unit in known and metric.unit in known else None
    if factors is None:
        shown = metric.unit or "no unit (yes/no)"
        raise Rejected(
            reasons.UNIT_MISMATCH,
            f"the unit {str(unit)[:32]!r} is not {shown!r} and has no exact conversion",
        )
    converted = value * factors.scale + factors.offset
    if not math.isfinite(converted):
        raise Rejected(reasons.INVALID_VALUE, "the value is out of range once converted")
    return converted
