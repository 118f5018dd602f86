"""The reason codes a rejected message or reading is quarantined with, and what each means.

The codes are stable: they are stored in quarantine, counted in the metrics and documented in
the README. `describe` gives the plain-English line for each.
"""

from __future__ import annotations

PAYLOAD_TOO_LARGE = "payload_too_large"
INVALID_JSON = "invalid_json"
INVALID_STRUCTURE = "invalid_structure"
UNSUPPORTED_SENML = "unsupported_senml"
UNKNOWN_DEVICE = "unknown_device"
DEVICE_NOT_ACTIVE = "device_not_active"
DEVICE_DECOMMISSIONED = "device_decommissioned"
TOPIC_MISMATCH = "topic_mismatch"
NO_READINGS = "no_readings"
UNDECLARED_METRIC = "undeclared_metric"
UNIT_MISMATCH = "unit_mismatch"
INVALID_VALUE = "invalid_value"
INVALID_TIME = "invalid_time"
FUTURE_TIME = "future_time"
PAST_RETENTION = "past_retention"
INTERNAL_ERROR = "internal_error"

DESCRIPTIONS = {
    PAYLOAD_TOO_LARGE: "the payload is larger than ingest.max_payload_bytes",
    INVALID_JSON: "the payload is not UTF-8 JSON",
    INVALID_STRUCTURE: "the JSON does not have the shape the source's format requires",
    UNSUPPORTED_SENML: "a SenML pack needs a newer version or a field this reader does not know",
    UNKNOWN_DEVICE: "no device in the register matches the message",
    DEVICE_NOT_ACTIVE: "the device is planned or suspended, not active",
    DEVICE_DECOMMISSIONED: "the device has been decommissioned",
    TOPIC_MISMATCH: "the topic names another organisation or device than the register does",
    NO_READINGS: "the message holds no readings at all",
    UNDECLARED_METRIC: "the device does not declare this metric (or has withdrawn it)",
    UNIT_MISMATCH: "the unit differs from the declared one and has no exact conversion",
    INVALID_VALUE: "the value is not a finite number, or not the declared kind",
    INVALID_TIME: "the time is missing, unreadable or has no time zone",
    FUTURE_TIME: "the time is further ahead than ingest.future_skew allows",
    PAST_RETENTION: "the reading is older than its metric's declared retention",
    INTERNAL_ERROR: "the ingester failed on this message; the log has the details",
}

ALL = tuple(DESCRIPTIONS)


def describe(reason: str) -> str:
    """The plain-English meaning of a reason code."""
    return DESCRIPTIONS[reason]
