"""ChirpStack v4 uplink events, as its MQTT integration publishes them in JSON.

Topic: `application/<application id>/device/<DevEUI>/event/up`, by default
`application/+/device/+/event/up`.

The readings are the fields of `object`, which the device profile's codec produces; they carry
no units, so they are taken to be in the declared units. The device is found by
`deviceInfo.devEui`. The time is `time` (the gateway's time, or the network server's); when an
event has none, its `deduplicationId` is all that identifies it, so it is stamped on arrival.
"""

from __future__ import annotations

from typing import Any

from ingest import reasons
from ingest.formats.common import (
    normalise_dev_eui,
    require_object,
    require_text,
    time_us,
    topic_levels,
)
from ingest.messages import DeviceKey, DeviceRef, Parsed, RawReading, Rejected

TOPIC_LAYOUT = "application/<application>/device/<DevEUI>/event/up"


def parse(topic: str, document: Any, now: float | None = None) -> Parsed:
    """The decoded readings of one uplink event, or Rejected."""
    levels = topic_levels(topic, 5, TOPIC_LAYOUT)
    body = require_object(document, "the event")
    info = require_object(body.get("deviceInfo"), "'deviceInfo'")
    dev_eui = normalise_dev_eui(require_text(info.get("devEui"), "'deviceInfo.devEui'"))
    if normalise_dev_eui(levels[-3]) != dev_eui:
        raise Rejected(
            reasons.TOPIC_MISMATCH,
            f"the topic names DevEUI {levels[-3][:32]!r}, the event {dev_eui[:32]!r}",
        )
    if "object" not in body:
        raise Rejected(
            reasons.INVALID_STRUCTURE,
            "no 'object': the device profile needs a codec that decodes the payload",
        )
    decoded = require_object(body["object"], "'object'")
    when = time_us(body["time"], "'time'") if body.get("time") is not None else None
    readings = [RawReading(key, value, None, when) for key, value in decoded.items()]
    return Parsed(DeviceRef(keys=(DeviceKey("dev_eui", dev_eui),)), readings)
