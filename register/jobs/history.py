"""prune_history: records kept for a while are deleted after `jobs.history_days`: the record of
job runs, and the console's sign-in records that no longer count (failed logins, ended or idle
sessions, used or expired password links).

The retention job records how many readings it deleted for every device and metric, every run:
with 100,000 devices that is up to one row per metric each run. Kept for ever, the record would
outgrow the readings it describes. Each job's latest run is always kept, so `/system` always
has something true to show.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from register.jobs.outcome import Outcome
from register.platform.config import Settings
from register.platform.db import transaction
from register.queries import Conn
from register.queries import accounts as account_queries
from register.queries import jobs as job_queries

# Records deleted in one transaction: per-metric records of readings deleted, then runs.
RECORDS_BATCH = 50000
RUNS_BATCH = 5000


def prune_history(conn: Conn, settings: Settings) -> Outcome:
    days = settings.jobs.history_days
    older_than = datetime.now(UTC) - timedelta(days=days)
    deleted = 0
    for delete, batch in (
        (job_queries.delete_old_deletion_records, RECORDS_BATCH),
        (job_queries.delete_old_runs, RUNS_BATCH),
        (account_queries.delete_old_sign_in_records, RUNS_BATCH),
    ):
        while True:
            with transaction(conn):
                gone = delete(conn, older_than, batch)
            deleted += gone
            if gone < batch:
                break
    summary = f"{deleted:,} records older than {days} days deleted" if deleted else ""
    return Outcome(deleted, summary, {"deleted": deleted, "older_than": older_than.isoformat()})
