"""The jobs' counters for Prometheus: runs, failures, duration and rows affected, per job.

Only the scheduler that holds the lock runs jobs, so only its counters move; `active` tells the
schedulers apart. Each scheduler keeps its own registry, so that tests can run several in one
process.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from register.platform.prometheus import Counters

DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


class JobMetrics(Counters):
    def __init__(self) -> None:
        super().__init__()
        r = self.registry
        self.runs = Counter("lamplighter_job_runs", "Job runs started.", ["job"], registry=r)
        self.failures = Counter(
            "lamplighter_job_failures",
            "Job runs that failed, or could not start because the database was unavailable.",
            ["job"],
            registry=r,
        )
        self.duration = Histogram(
            "lamplighter_job_duration_seconds",
            "How long each finished run took.",
            ["job"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.rows = Counter(
            "lamplighter_job_rows",
            "Rows the job's runs deleted, marked or computed (readings deleted, for "
            "enforce_retention).",
            ["job"],
            registry=r,
        )
        self.active = Gauge(
            "lamplighter_jobs_active",
            "1 while this process holds the scheduler lock and schedules the jobs; 0 on standby.",
            registry=r,
        )
