"""SQL of the ingest benchmark's scale curve: readings already in the hypertable."""

from __future__ import annotations

from datetime import datetime

from register.queries import Conn


def fill_readings(conn: Conn, now: datetime, rows: int) -> int:
    """About `rows` readings of every device metric, one a minute back from `now` for each
    (every metric the same count), in one INSERT … SELECT; how many."""
    (metrics,) = conn.execute("SELECT count(*) FROM device_metrics").fetchone() or (0,)
    if not metrics:
        return 0
    per_metric = max(1, rows // metrics)
    cursor = conn.execute(
        """
        INSERT INTO readings (time, device_id, metric_id, value)
        SELECT %(now)s::timestamptz - make_interval(mins => s + 1), m.device_id, m.id,
               (m.id + s) %% 400 / 10.0
          FROM generate_series(%(per_metric)s - 1, 0, -1) AS s
         CROSS JOIN device_metrics m
        """,
        {"now": now, "per_metric": per_metric},
    )
    return cursor.rowcount


def analyze_readings(conn: Conn) -> None:
    """ANALYZE the hypertable, as autovacuum would have by now."""
    conn.execute("ANALYZE readings")
