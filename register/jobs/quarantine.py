"""purge_quarantine: refused messages are kept for `jobs.quarantine_keep_days`, then deleted.

A quarantined payload may hold personal data, so it is kept only as long as engineers need it
to debug a device. The counts of refused data outlive it: each purged record is first added to
the daily counts (`refusals_by_day`), which hold no payload.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from register.jobs.outcome import Outcome
from register.platform.config import Settings
from register.platform.db import transaction
from register.queries import Conn
from register.queries import quarantine as quarantine_queries

# Records deleted in one transaction, so that a large backlog never holds locks for long.
BATCH = 10000


def purge_quarantine(conn: Conn, settings: Settings) -> Outcome:
    keep_days = settings.jobs.quarantine_keep_days
    older_than = datetime.now(UTC) - timedelta(days=keep_days)
    deleted = 0
    while True:
        with transaction(conn):
            batch = quarantine_queries.purge_quarantine_batch(conn, older_than, BATCH)
        deleted += batch
        if batch < BATCH:
            break
    summary = f"{deleted:,} refused messages older than {keep_days} days deleted" if deleted else ""
    return Outcome(deleted, summary, {"deleted": deleted, "older_than": older_than.isoformat()})
