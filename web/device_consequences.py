"""What a change to a device will do to its data, in words, for the console to say before the
change is made: on the device form, which asks for confirmation, and on the import's preview.

The changes are the audit log's (`register.audit.diff` of the public entries), so every way a
change is made is described the same way. The words follow what the system does:
  - the ingester refuses messages of a device that is not active, and readings of a metric the
    device does not declare (both go to quarantine);
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
    status = changes.get("status")
    if status and status["before"] == "active" and status["after"] in REFUSING_STATUSES:
        said.append(
            f"Its status changes from active to {status['after']}: from then on the ingester "
            "refuses every message from this device and keeps it in quarantine, until the "
            "device is active again."
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
    return said


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
