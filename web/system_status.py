"""The public system page's content: for each scheduled job, what it keeps true, how often it
runs, its last run and its result, and when it runs next. One dict, rendered as `/system` and
served as `/system.json`.

The figures come from the record of runs (`job_runs`) and the settings in force, so the page
shows what did happen, not what should have.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from register import periods
from register.jobs.status import JobStatus, job_statuses
from register.platform.config import Settings
from register.queries import Conn

# How a resident would say that each job last did its work.
LAST_DONE = {
    "enforce_retention": "Retention last enforced",
    "mark_silent": "Devices last checked for silence",
    "purge_quarantine": "Refused messages last purged",
    "compliance": "Compliance figures last computed",
    "prune_history": "Old records last deleted",
}


def build(conn: Conn, settings: Settings) -> dict[str, Any]:
    now = datetime.now(UTC)
    jobs = [_job(status, now) for status in job_statuses(conn, settings)]
    return {
        "generated_at": now,
        "jobs": jobs,
        "all_on_time": not any(job["overdue"] for job in jobs),
    }


def _job(status: JobStatus, now: datetime) -> dict[str, Any]:
    last = status.last_run
    every = periods.describe(timedelta(seconds=status.interval_seconds))
    doing = LAST_DONE.get(status.name, status.name)
    if last is None:
        said = f"{doing}: never yet."
    else:
        ago = describe_ago(now - last.finished_at)
        if last.error:
            said = f"{doing} {ago}: the run failed ({last.error}); it is tried again every {every}."
        else:
            said = f"{doing} {ago}: {last.result or 'nothing needed doing'}."
    overdue = status.overdue(now)
    if status.next_due is None:
        next_text = "It runs as soon as the scheduler starts."
    elif overdue:
        next_text = "Overdue: no scheduler has run it for more than one interval."
    elif status.next_due <= now:
        next_text = "Next run: due now."
    else:
        next_text = f"Next run in {describe_ago(status.next_due - now, suffix='')}."
    return {
        "name": status.name,
        "purpose": status.purpose,
        "interval_seconds": status.interval_seconds,
        "interval_text": f"every {every}",
        "last_run": None
        if last is None
        else {
            "started_at": last.started_at.astimezone(UTC),
            "finished_at": last.finished_at.astimezone(UTC),
            "seconds": round(last.seconds, 3),
            "ok": last.error is None,
            "rows_affected": last.rows_affected,
            "result": last.result,
            "error": last.error,
        },
        "last_run_text": said,
        "next_due": status.next_due.astimezone(UTC) if status.next_due else None,
        "next_run_text": next_text,
        "overdue": overdue,
    }


def describe_ago(elapsed: timedelta, *, suffix: str = " ago") -> str:
    """'12 minutes ago', 'just now': a rough, readable age."""
    seconds = max(0, int(elapsed.total_seconds()))
    if seconds < 5:
        return "just now" if suffix else "a few seconds"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}{suffix}"
    return "just now"
