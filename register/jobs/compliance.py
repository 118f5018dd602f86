"""compute_compliance: the figures that show whether the system does what the register says.

For each declared metric (and each withdrawn metric that still has readings), the time of its
oldest stored reading, which the pages measure against the declared retention (trust rule 4);
for each device, its refused data over the last 7 and 30 days, by reason; and for each
organisation, how many of its devices keep every metric within its retention (plus one interval
of the retention job: trust rule 4), and its refused data. The pages read these stored figures,
so a page costs a few index lookups however large the readings are, and shows when the figures
were computed. The job runs every `jobs.compliance_interval`.

The figures are replaced in one transaction: a reader sees the previous run's or this one's,
never half of each, and a second run started meanwhile waits for the first.

Refused data is what quarantine holds plus the daily counts of the records purge_quarantine has
already deleted (`refusals_by_day`); a record is in exactly one of the two. The windows are UTC
days: "the last 7 days" is today and the 6 days before.

How the oldest readings are found, and its limit. One plain GROUP BY (device_id, metric_id) with
min(time) over the readings hypertable, which PostgreSQL answers with index-only scans of each
1-day chunk's (device_id, metric_id, time DESC) index. Measured on this 2-core machine, with
23.6 million readings over 121 chunks from 2,500 devices (5,462 series) and a register of
100,000 devices (217,222 metrics): 2.6 s with the index pages cached, 7.1 s from disk. The
alternatives measured on the same data were slower or wrong:
- one ordered index probe per metric (`ORDER BY time LIMIT 1` through TimescaleDB's ordered
  append): 32 s, since a metric with nothing stored probes every chunk (217,222 x 121);
- the same probe only for devices that ingest has recorded storing a reading: 0.15 s, but it
  trusts ingest's bookkeeping, which is what compliance exists to check, and a short retention
  beside long ones still probes every older chunk first;
- a skip scan of each chunk's index, oldest chunk first (one descent per series per chunk):
  about 40 ms a chunk, 5 s in all, for more machinery.
A whole run at that size (217,222 metric rows, 125,000 refusal rows from 500,000 quarantine
records and 733,000 daily counts, 18 organisations) takes about 8 s; a page then reads its
figures in a few milliseconds.
The limit: the cost grows with the readings stored, at about 0.1-0.3 microseconds a reading
here; past roughly 500 million readings a run would no longer fit in the default 300 s
interval, and the next step would be to probe each metric from its previous oldest reading.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from register.jobs.outcome import Outcome
from register.platform.config import Settings
from register.platform.db import transaction
from register.queries import Conn
from register.queries import compliance as compliance_queries


def compute_compliance(conn: Conn, settings: Settings) -> Outcome:
    with transaction(conn):
        compliance_queries.lock_figures(conn)
        computed_at = compliance_queries.get_database_now(conn)
        today = computed_at.astimezone(UTC).date()
        metrics = compliance_queries.store_metric_compliance(conn, computed_at)
        compliance_queries.delete_older_metric_compliance(conn, computed_at)
        refusals = compliance_queries.store_device_refusals(conn, computed_at, today)
        compliance_queries.delete_older_device_refusals(conn, computed_at)
        organisations = compliance_queries.store_organisation_compliance(
            conn, computed_at, grace=timedelta(seconds=settings.jobs.retention_interval)
        )
        devices = compliance_queries.count_devices(conn)
    return Outcome(
        metrics + devices,
        f"compliance figures for {devices:,} devices",
        {
            "devices": devices,
            "metrics": metrics,
            "refusal_rows": refusals,
            "organisations": organisations,
            "computed_at": computed_at.isoformat(),
        },
    )
