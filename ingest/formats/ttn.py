"""The Things Stack v3 uplink messages (TTN and The Things Industries MQTT integration).

Topic: `v3/<application id>@<tenant>/devices/<device id>/up`, by default `v3/+/devices/+/up`.

The readings are the fields of `uplink_message.decoded_payload`, which the application's
payload formatter produces; they carry no units, so they are taken to be in the declared units.
The time is `uplink_message.received_at`, the network's receive time, which stays the same if
the message is delivered again. The device is found by its TTN id, written in the register as
`<application id>@<tenant>/<device id>`, and failing that by its DevEUI.
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

TOPIC_LAYOUT = "v3/<application>@<tenant>/devices/<device>/up"


def parse(topic: str, document: Any, now: float | None = None) -> Parsed:
    """The decoded readings of one uplink, or Rejected."""
    levels = topic_levels(topic, 4, TOPIC_LAYOUT)
    application_at_tenant, topic_device = levels[-4], levels[-2]
    body = require_object(document, "the message")
    ids = require_object(body.get("end_device_ids"), "'end_device_ids'")
    device_id = require_text(ids.get("device_id"), "'end_device_ids.device_id'")
    if device_id != topic_device:
        raise Rejected(
            reasons.TOPIC_MISMATCH,
            f"the topic names device {topic_device[:64]!r}, the payload {device_id[:64]!r}",
        )
    keys = [DeviceKey("ttn_id", f"{application_at_tenant}/{device_id}")]
    dev_eui = ids.get("dev_eui")
    if isinstance(dev_eui, str) and dev_eui:
        keys.append(DeviceKey("dev_eui", normalise_dev_eui(dev_eui)))
    uplink = body.get("uplink_message")
    if uplink is None:
        raise Rejected(reasons.INVALID_STRUCTURE, "no 'uplink_message': this is not an uplink")
    uplink = require_object(uplink, "'uplink_message'")
    if "decoded_payload" not in uplink:
        raise Rejected(
            reasons.INVALID_STRUCTURE,
            "no 'uplink_message.decoded_payload': the application needs a payload formatter",
        )
    decoded = require_object(uplink["decoded_payload"], "'uplink_message.decoded_payload'")
    received_at = uplink.get("received_at", body.get("received_at"))
    if received_at is None:
        raise Rejected(reasons.INVALID_TIME, "'uplink_message.received_at' is required")
    when = time_us(received_at, "'uplink_message.received_at'")
    readings = [RawReading(key, value, None, when) for key, value in decoded.items()]
    return Parsed(DeviceRef(keys=tuple(keys)), readings)
