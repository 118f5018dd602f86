"""What a change to a device will do to its data, in words, for the console to say before the
change is made: on the device form, which asks for confirmation, and on the import's preview.

The changes are the audit log's (`register.audit.diff` of the public entries), so every way a
change is made is described the same way. The words follow what the system does:
  - the ingester refuses messages of a device that is not active, readings of a metric the
    device does not declare, readings of another kind than the metric's or in a unit that does
    not convert exactly to its unit, and messages naming a LoRaWAN id no device has (all go to
    quarantine);
  - `enforce_retention` (register/jobs/retention.py) deletes every reading older than its
    metric's retention at its next run, a withdrawn metric keeping the retention it last
    declared. Declaring a withdrawn metric's key again declares that same metric again, so its
    stored readings then follow the new retention.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from register import periods

REFUSING_STATUSES = ("planned", "suspended")
EXTERNAL_IDS = {
    "dev_eui": "LoRaWAN DevEUI",
    "ttn_device_id": "The Things Network device id",
}
KIND_TEXT = {"number": "numbers", "boolean": "yes/no values"}


def needing_confirmation(
    changes: Mapping[str, Mapping[str, Any]],
    retention_interval: timedelta,
    withdrawn_retention: Mapping[str, timedelta] | None = None,
) -> list[str]:
    """A sentence for each of `changes` (field -> before and after) that deletes or refuses
    data; none for any other change. `withdrawn_retention` holds the retention each withdrawn
    metric of the device last declared, by key."""
    every = periods.describe(retention_interval)
    said = []
    said.extend(_status(changes.get("status")))
    for name, what in EXTERNAL_IDS.items():
        change = changes.get(name)
        if change and change["before"]:
            now = f"changes to {change['after']}" if change["after"] else "is removed"
            said.append(
                f"Its {what} {change['before']} {now}: from then on the ingester refuses "
                "messages that name the old one, as from a device the register does not know."
            )
    for name, change in changes.items():
        parts = name.split(".")
        if parts[0] != "metrics":
            continue
        key = parts[1]
        if len(parts) == 2 and change["after"] is None:
            said.append(_withdrawn(key, change["before"], every))
        elif len(parts) == 2 and change["before"] is None:
            old = (withdrawn_retention or {}).get(key)
            new = periods.parse(change["after"]["retention"])
            if old is not None and new < old:
                said.append(_shortened(key, old, new, every, again=True))
        elif parts[2:] == ["retention"]:
            old, new = periods.parse(change["before"]), periods.parse(change["after"])
            if new < old:
                said.append(_shortened(key, old, new, every))
        elif parts[2:] == ["value_kind"]:
            refused = (
                "readings other than true, false, 1 and 0"
                if change["after"] == "boolean"
                else "readings of true or false"
            )
            said.append(
                f"Metric {key} will take {KIND_TEXT.get(change['after'], change['after'])} "
                f"instead of {KIND_TEXT.get(change['before'], change['before'])}: from then on "
                f"the ingester refuses {refused}."
            )
        elif parts[2:] == ["unit"]:
            said.append(
                f"Metric {key}'s unit changes from {change['before'] or 'none'} to "
                f"{change['after'] or 'none'}: from then on the ingester converts readings "
                "sent in another unit only where the two convert exactly (mV and V, say), and "
                "refuses the others; a reading that names no unit is taken to be in the new one."
            )
    return said


def _status(change: Mapping[str, Any] | None) -> list[str]:
    """What a change of status does to the messages the device sends."""
    if not change or change["before"] == change["after"]:
        return []
    if change["after"] == "decommissioned":
        return [
            "It will be decommissioned: from then on the ingester refuses every message from "
            "it, and its entry is archived and can no longer change. Its stored readings are "
            "deleted as each reaches its metric's retention."
        ]
    if change["before"] == "active" and change["after"] in REFUSING_STATUSES:
        return [
            f"Its status changes from active to {change['after']}: from then on the ingester "
            "refuses every message from this device and keeps it in quarantine, until the "
            "device is active again."
        ]
    return []


def _withdrawn(key: str, metric: Mapping[str, Any], every: str) -> str:
    kept = periods.describe(periods.parse(metric["retention"]))
    return (
        f"Metric {key} ({metric['label']}) will be withdrawn. From then on the ingester refuses "
        f"new readings of {key} from this device and keeps them in quarantine as undeclared. "
        f"The readings of it already stored stay until they are older than its last declared "
        f"retention, {kept}, and are deleted by the retention run then (it runs every {every}). "
        "The withdrawal shows on the device's public history."
    )


def _shortened(key: str, old: timedelta, new: timedelta, every: str, *, again: bool = False) -> str:
    which = (
        f"Every stored reading of {key}"
        if new <= timedelta(0)
        else f"Readings of {key} older than {periods.describe(new)}"
    )
    until = (
        f"{key} was withdrawn earlier, and its stored readings were kept for "
        f"{periods.describe(old)}; declaring it again declares the same metric"
        if again
        else f"until now they were kept for {periods.describe(old)}"
    )
    return (
        f"{which} will be deleted at the next retention run (it runs every {every}); {until}. "
        "Deleted readings cannot be brought back."
    )
