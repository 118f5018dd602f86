"""Whether a device reports as often as it declares, in words: "Not reporting since 14:05 on
29 November 2026 (UTC); expected every 15 minutes".

The mark itself is the mark_silent job's (`register.jobs.silence`); the pages, the map and API
v1 say it the same way through these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from register import periods


def every(interval: timedelta) -> str:
    """How often, in plain English: "every 15 minutes", "every hour", "every 1 day 12 hours"."""
    described = periods.describe(interval)
    if described.startswith("1 ") and " " not in described[2:]:
        return "every " + described[2:]
    return "every " + described


def at(moment: datetime) -> str:
    """A moment as the pages show it: "14:05 on 29 November 2026 (UTC)"."""
    return moment.astimezone(UTC).strftime("%H:%M on %d %B %Y (UTC)")


def not_reporting_text(since: datetime | None, interval: timedelta | None) -> str | None:
    """The sentence for a device marked not reporting, or None when it is not."""
    if since is None:
        return None
    expected = f"; expected {every(interval)}" if interval is not None else ""
    return f"Not reporting since {at(since)}{expected}"
