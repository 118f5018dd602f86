"""What a change to a device will do to data already collected, in words, for the console to
ask before saving it: withdrawing a metric, or shortening how long a metric's readings are kept.

The words follow what the system does: the ingester refuses readings of a metric a device does
not declare (they go to quarantine), and `enforce_retention` (register/jobs/retention.py) deletes
every reading older than its metric's retention, a withdrawn metric keeping the retention it
last declared, at its next run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from register import periods


def needing_confirmation(
    before: dict[str, Any], after: dict[str, Any], retention_interval: timedelta
) -> list[str]:
    """A sentence for each change from `before` (a device's public entry) to `after` (its
    validated new entry) that deletes or refuses data; none for any other change."""
    every = periods.describe(retention_interval)
    kept = {metric["key"]: metric for metric in after["metrics"]}
    said = []
    for metric in before["metrics"]:
        key, was = metric["key"], periods.parse(metric["retention"])
        now = kept.get(key)
        if now is None:
            said.append(
                f"Metric {key} ({metric['label']}) will be withdrawn. From then on the ingester "
                f"refuses new readings of {key} from this device and keeps them in quarantine as "
                "undeclared. The readings of it already stored stay until they are older than "
                f"its last declared retention, {periods.describe(was)}, and are deleted by the "
                f"retention run then (it runs every {every}). The withdrawal shows on the "
                "device's public history."
            )
        elif now["retention"] < was:
            which = (
                f"Every stored reading of {key}"
                if now["retention"] <= timedelta(0)
                else f"Readings of {key} older than {periods.describe(now['retention'])}"
            )
            said.append(
                f"{which} will be deleted at the next retention run (it runs every {every}); "
                f"until now they were kept for {periods.describe(was)}. Deleted readings cannot "
                "be brought back."
            )
    return said
