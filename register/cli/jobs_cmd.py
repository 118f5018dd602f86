"""`lamplighter jobs [run NAME | list]`: the scheduled jobs.

With no action it runs the scheduler until SIGTERM or Ctrl-C (`register/jobs/scheduler.py`):
any number may run, and one schedules while the others stand by.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import psycopg

from register import periods
from register.jobs import catalogue, runs
from register.platform import db
from register.platform.config import Settings


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "jobs",
        help="run the scheduled jobs (retention, silence, quarantine purge, compliance)",
        description="With no action: schedule the jobs until stopped; one of any number of "
        "`lamplighter jobs` processes schedules, the others stand by.",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="port of the Prometheus endpoint (default: jobs.metrics_port; 0 for none)",
    )
    parser.set_defaults(run=run_scheduler)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    running = actions.add_parser("run", help="run one job once, now, and print what it did")
    names = [job.name for job in catalogue.SCHEDULED + catalogue.AFTER_UPGRADE]
    running.add_argument("name", choices=names, metavar="NAME", help=", ".join(names))
    running.add_argument("--json", action="store_true", help="print the result as JSON")
    running.set_defaults(run=run_once)
    listing = actions.add_parser("list", help="each job, its interval and its last run")
    listing.set_defaults(run=run_list)


def run_scheduler(settings: Settings, args: argparse.Namespace) -> int:
    from register.jobs.scheduler import Scheduler  # noqa: PLC0415 - keeps `--help` fast

    if args.metrics_port is not None:
        settings = settings.with_values("jobs", metrics_port=args.metrics_port)
    scheduler = Scheduler(settings)
    # Each run is logged once, by the scheduler; APScheduler's own lines only with --verbose.
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if args.verbose else logging.WARNING)

    def request_stop(signum: int, frame: FrameType | None) -> None:
        scheduler.stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    print("scheduling jobs (or standing by); press Ctrl-C to stop", flush=True)
    scheduler.run()
    return 0


def run_once(settings: Settings, args: argparse.Namespace) -> int:
    job = catalogue.find(args.name)
    if job is None:  # argparse allows only known names; this keeps the types honest
        print(f"lamplighter: no job is called {args.name!r}", file=sys.stderr)
        return 2
    try:
        with db.connect(settings) as conn:
            done = runs.run(conn, settings, job)
    except runs.AlreadyRunning as busy:
        print(f"lamplighter: {busy}; try again when it has finished", file=sys.stderr)
        return 1
    except psycopg.OperationalError as error:
        print(f"lamplighter: lost the database during {job.name}: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps(
                {
                    "job": done.job,
                    "run_id": done.id,
                    "started_at": done.started_at.isoformat(),
                    "finished_at": done.finished_at.isoformat(),
                    "seconds": round(done.seconds, 3),
                    "ok": done.error is None,
                    "rows": done.outcome.rows if done.outcome else None,
                    "summary": done.outcome.summary if done.outcome else None,
                    "details": dict(done.outcome.details) if done.outcome else None,
                    "error": done.error,
                },
                default=str,
            )
        )
    else:
        print(done.line)
    return 0 if done.error is None else 1


def run_list(settings: Settings, args: argparse.Namespace) -> int:
    from register.jobs.status import job_statuses  # noqa: PLC0415

    with db.connect(settings) as conn, db.transaction(conn):
        statuses = job_statuses(conn, settings)
    now = datetime.now(UTC)
    print(f"{'job':<18} {'every':<12}  last run")
    for status in statuses:
        last = status.last_run
        if last is None:
            said = "never"
        else:
            ago = _ago((now - last.finished_at).total_seconds())
            outcome = f"failed: {last.error}" if last.error else (last.result or "nothing to do")
            said = f"{ago} ago, {last.seconds:.1f} s: {outcome}"
        late = "  (overdue: is a scheduler running?)" if status.overdue(now) else ""
        every = periods.describe(timedelta(seconds=status.interval_seconds))
        print(f"{status.name:<18} {every:<12}  {said}{late}")
    sys.stdout.flush()
    return 0


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def process(settings: Settings) -> list[str] | None:
    """`lamplighter up` always runs the scheduler."""
    return ["jobs"]
