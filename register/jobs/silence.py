"""mark_silent: mark the devices that have stopped reporting, and clear the marks of those that
have started again.

A device may declare how often it reports (`devices.reporting_interval`). It is marked "not
reporting" (table `device_silence`) when it is active and has not been heard from
(`device_activity.last_seen_at`, kept by the ingester) for `jobs.silence_factor` times that
interval. A device never heard from is expected from when it was last made active (the latest
audit event that set its status to active, its creation included; its `created_at` when the
register holds no such event, as after a bulk load), and so is a device made active again after
its last message: a device that was suspended for a month is not marked the minute it returns.
The mark's `since` is that start: when the device was last heard from, or when it was last made
active if that is later.

A mark ends as soon as the device is heard from after `since`: every reader checks that
(`register.queries.silence.NOT_REPORTING_SINCE`), and the next run deletes the row. Devices
without an interval, and devices not active, are never marked, and their marks are removed.
Both steps are one set-based statement each, in one short transaction, whatever the register's
size.
"""

from __future__ import annotations

from datetime import UTC, datetime

from register.jobs.outcome import Outcome
from register.platform.config import Settings
from register.platform.db import transaction
from register.queries import Conn
from register.queries import silence as silence_queries


def mark_silent(conn: Conn, settings: Settings) -> Outcome:
    factor = settings.jobs.silence_factor
    now = datetime.now(UTC)
    with transaction(conn):
        recovered, no_longer_expected = silence_queries.delete_ended_silences(conn, now, factor)
        marked = silence_queries.insert_new_silences(conn, now, factor)
        standing = silence_queries.count_silences(conn)
    return Outcome(
        marked + recovered + no_longer_expected,
        summary(marked, recovered, no_longer_expected),
        {
            "marked": marked,
            "recovered": recovered,
            "no_longer_expected": no_longer_expected,
            "not_reporting": standing,
            "factor": factor,
        },
    )


def summary(marked: int, recovered: int, no_longer_expected: int) -> str:
    """What changed in a line: "2 devices marked not reporting, 1 recovered", or "" when
    nothing did."""
    parts = [
        f"{count:,} {what}"
        for count, what in (
            (marked, "marked not reporting"),
            (recovered, "recovered"),
            (no_longer_expected, "no longer expected to report"),
        )
        if count
    ]
    if not parts:
        return ""
    first = marked or recovered or no_longer_expected
    parts[0] = parts[0].replace(" ", f" device{'' if first == 1 else 's'} ", 1)
    return ", ".join(parts)
