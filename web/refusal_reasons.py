"""Why data was refused, in plain English for residents, by the reason code quarantine stores.

The codes are ingest's (`ingest/reasons.py`, whose own lines are written for engineers); the web
does not import ingest, so the texts live here, and a test holds the two lists together.
"""

from __future__ import annotations

TEXTS = {
    "payload_too_large": "The message was too large to read.",
    "invalid_json": "The message could not be read.",
    "invalid_structure": "The message was not in the expected form.",
    "unsupported_senml": "The message used a format version that is not supported.",
    "unknown_device": "The message came from a device the register does not list.",
    "device_not_active": (
        "The device is not active (planned or suspended), so it may not send data."
    ),
    "device_decommissioned": "The device has been decommissioned, so it may not send data.",
    "topic_mismatch": "The message claimed to come from another organisation or device.",
    "no_readings": "The message held no readings.",
    "undeclared_metric": (
        "The device sent a kind of data the register does not allow it to collect."
    ),
    "unit_mismatch": "A reading was in a different unit from the one declared.",
    "invalid_value": "A reading's value was not a valid number, or not the declared kind.",
    "invalid_time": "A reading had no time, or a time that could not be read.",
    "future_time": "A reading was timed in the future.",
    "past_retention": "A reading was older than the time its kind of data may be kept.",
    "internal_error": "Lamplighter failed to read the message (an engineer has the details).",
}


def describe(reason: str) -> str:
    """The plain-English line for a reason code; a code this site does not know yet is shown as
    it is stored."""
    return TEXTS.get(reason, f"Refused with the reason {reason!r}.")
