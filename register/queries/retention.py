"""SQL for enforce_retention: the metrics and their watermarks, the chunks of `readings`, and
the two ways readings go (a whole chunk dropped, or a batch deleted from one chunk).

A reading is expired when it is older than `now` minus its metric's retention, in seconds as the
ingester counts them (ingest/checks.py), or at once when the metric is not retained (0). Every
statement that decides what is expired reads the retention from `device_metrics` itself, so a
retention changed during a run is obeyed from the next statement on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from psycopg import sql
from psycopg.rows import class_row

from register.queries import Conn

# A metric's cutoff at %(now)s: readings before it are expired. "Not retained" is never kept.
_CUTOFF = """CASE WHEN m.retention = interval '0' THEN 'infinity'::timestamptz
                  ELSE %(now)s::timestamptz
                       - make_interval(secs => extract(epoch FROM m.retention)::float8) END"""


@dataclass(frozen=True)
class Chunk:
    """One chunk of the `readings` hypertable: a table holding the readings of [start, end)."""

    schema: str
    name: str
    range_start: datetime
    range_end: datetime

    @property
    def table(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)


class MetricToEnforce(NamedTuple):
    """A metric (withdrawn or not, of any device) and what the last runs left of it."""

    metric_id: int
    device_id: int
    retention_seconds: float
    # The row's version (its xmin): a watermark counts only while it is unchanged.
    version: int
    device_updated_at: datetime
    # Every reading older than this is known deleted; None when no valid watermark is kept.
    enforced_before: datetime | None


def list_metrics_to_enforce(conn: Conn) -> list[MetricToEnforce]:
    """Every declared metric, withdrawn ones included, with its watermark when it still holds,
    by device and id (the order of the readings index)."""
    with conn.cursor(row_factory=_metric_row) as cur:
        return cur.execute(
            """
            SELECT m.id AS metric_id, m.device_id,
                   extract(epoch FROM m.retention)::float8 AS retention_seconds,
                   m.xmin::text::bigint AS version, d.updated_at AS device_updated_at,
                   CASE WHEN w.metric_version = m.xmin THEN w.enforced_before END
                       AS enforced_before
              FROM device_metrics m
              JOIN devices d ON d.id = m.device_id
              LEFT JOIN retention_watermarks w ON w.metric_id = m.id
             ORDER BY m.device_id, m.id
            """
        ).fetchall()


def _metric_row(cursor: Any) -> Callable[[Sequence[Any]], MetricToEnforce]:
    return MetricToEnforce._make


def list_chunks(conn: Conn) -> list[Chunk]:
    """The chunks of `readings`, oldest first."""
    with conn.cursor(row_factory=class_row(Chunk)) as cur:
        return cur.execute(
            """
            SELECT chunk_schema AS schema, chunk_name AS name, range_start, range_end
              FROM timescaledb_information.chunks
             WHERE format('%I.%I', hypertable_schema, hypertable_name)::regclass
                   = 'readings'::regclass
             ORDER BY range_start
            """
        ).fetchall()


def set_up_step(conn: Conn, lock_timeout: float) -> None:
    """For the rest of this transaction: wait at most `lock_timeout` seconds for any lock; run
    every plan in this process (a parallel plan could take a batch's targets out of order); and
    commit without waiting for the disk, since a deletion a crash undoes is done again by the
    next run (and the log keeps commits in order, so a watermark never outlives the deletions
    it stands for)."""
    conn.execute(
        "SELECT set_config('lock_timeout', %s, true),"
        " set_config('max_parallel_workers_per_gather', '0', true),"
        " set_config('synchronous_commit', 'off', true)",
        (f"{max(1, round(lock_timeout * 1000))}ms",),
    )


def holds_unexpired_reading(conn: Conn, chunk: Chunk, now: datetime) -> bool:
    """Whether the chunk holds any reading that is not expired at `now`: one index probe per
    metric whose cutoff falls before the chunk's end (no other metric can have one there),
    stopping at the first found."""
    row = conn.execute(
        sql.SQL(
            f"""
            SELECT EXISTS (
                SELECT 1 FROM device_metrics m
                 WHERE m.retention > interval '0' AND {_CUTOFF} < %(end)s
                   AND EXISTS (SELECT 1 FROM {{chunk}} r
                                WHERE r.device_id = m.device_id AND r.metric_id = m.id
                                  AND r.time >= {_CUTOFF}))
            """
        ).format(chunk=chunk.table),
        {"now": now, "end": chunk.range_end},
    ).fetchone()
    return bool(row and row[0])


def list_chunks_without_unexpired(
    conn: Conn, chunks: Sequence[Chunk], now: datetime
) -> list[Chunk]:
    """Those of the chunks that hold no reading unexpired at `now` (holds_unexpired_reading for
    each, in one statement: one plan and one round trip instead of one per chunk)."""
    if not chunks:
        return []
    probes = [
        sql.SQL(
            f"""
            SELECT {{n}} AS n WHERE NOT EXISTS (
                SELECT 1 FROM device_metrics m
                 WHERE m.retention > interval '0' AND {_CUTOFF} < {{end}}
                   AND EXISTS (SELECT 1 FROM {{chunk}} r
                                WHERE r.device_id = m.device_id AND r.metric_id = m.id
                                  AND r.time >= {_CUTOFF}))
            """
        ).format(n=n, end=chunk.range_end, chunk=chunk.table)
        for n, chunk in enumerate(chunks)
    ]
    rows = conn.execute(sql.SQL(" UNION ALL ").join(probes), {"now": now}).fetchall()
    return [chunks[n] for n in sorted(row[0] for row in rows)]


def lock_chunk_against_writes(conn: Conn, chunk: Chunk) -> None:
    """Take the chunk for this transaction: others may still read it, no one may write to it."""
    conn.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(chunk.table))


def count_readings_by_metric(conn: Conn, chunk: Chunk) -> dict[tuple[int, int], int]:
    """The chunk's readings, counted by (device id, metric id)."""
    rows = conn.execute(
        sql.SQL("SELECT device_id, metric_id, count(*) FROM {} GROUP BY 1, 2").format(chunk.table)
    ).fetchall()
    return {(device_id, metric_id): count for device_id, metric_id, count in rows}


def drop_chunk(conn: Conn, chunk: Chunk) -> int:
    """Drop this one chunk with TimescaleDB's drop_chunks; how many chunks went (1, or 0 if it
    was gone already). It locks the chunk and, for the chunk's foreign key, `device_metrics`."""
    row = conn.execute(
        "SELECT count(*) FROM drop_chunks('readings', older_than => %s, newer_than => %s)",
        (chunk.range_end, chunk.range_start),
    ).fetchone()
    return int(row[0]) if row else 0


def delete_expired_batch(
    conn: Conn,
    chunk: Chunk,
    *,
    metric_ids: Sequence[int],
    not_before: Sequence[datetime],
    now: datetime,
    limit: int,
) -> dict[tuple[int, int], int]:
    """Delete up to `limit` expired readings from one chunk, of the given metrics, each only
    from its `not_before` time on (older ones are known gone), each found through the readings
    index; the deleted rows counted by (device id, metric id).

    The metrics are taken in the order given, so a batch that stops at the limit has finished
    every metric before the last one it deleted from.
    """
    rows = conn.execute(
        sql.SQL(
            f"""
            WITH victims AS (
                SELECT v.ctid
                  FROM unnest(%(metric_ids)b::integer[], %(not_before)b::timestamptz[])
                       AS t(metric_id, not_before)
                 CROSS JOIN LATERAL (
                       SELECT r.ctid
                         FROM device_metrics m
                         JOIN {{chunk}} r ON r.device_id = m.device_id AND r.metric_id = m.id
                        WHERE m.id = t.metric_id
                          AND r.time >= t.not_before AND r.time < {_CUTOFF}
                       -- Kept a subquery of its own (not merged into a join the planner may
                       -- reorder), so the metrics are taken in the order given.
                       OFFSET 0) AS v
                 LIMIT %(limit)s
            ), gone AS (
                DELETE FROM {{chunk}} WHERE ctid = ANY (ARRAY(SELECT ctid FROM victims))
                RETURNING device_id, metric_id
            )
            SELECT device_id, metric_id, count(*) FROM gone GROUP BY device_id, metric_id
            """
        ).format(chunk=chunk.table),
        {
            "metric_ids": list(metric_ids),
            "not_before": list(not_before),
            "now": now,
            "limit": limit,
        },
    ).fetchall()
    return {(device_id, metric_id): count for device_id, metric_id, count in rows}


def get_most_rows_per_page(conn: Conn) -> int:
    """The most readings one page of a chunk can hold: its space (a page less its header) over
    the least a row takes (a line pointer, a tuple header and the fixed-width columns that are
    never null; columns of any other kind, or padding, only take more)."""
    row = conn.execute(
        """
        SELECT (current_setting('block_size')::integer - 24)
               / (4 + 24 + coalesce(sum(attlen) FILTER (WHERE attlen > 0 AND attnotnull), 0))
          FROM pg_attribute
         WHERE attrelid = 'readings'::regclass AND attnum > 0 AND NOT attisdropped
        """
    ).fetchone()
    if row is None:
        raise RuntimeError("the page size query returned no row")
    return int(row[0])


def count_pages(conn: Conn, chunk: Chunk) -> int:
    """The chunk table's size in pages, now."""
    row = conn.execute(
        "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::integer",
        (chunk.table.as_string(conn),),
    ).fetchone()
    return int(row[0]) if row else 0


def delete_expired_whole_pages(
    conn: Conn,
    chunk: Chunk,
    *,
    metric_ids: Sequence[int],
    pages: tuple[int, int],
    now: datetime,
) -> dict[tuple[int, int], int]:
    """Delete, from pages [first, last) of one chunk's table, the readings of metrics whose
    every reading there has expired (the chunk ends before their cutoff), in one pass over
    those pages; the deleted rows counted by (device id, metric id)."""
    rows = conn.execute(
        sql.SQL(
            f"""
            WITH gone AS (
                DELETE FROM {{chunk}} r
                 USING device_metrics m
                 WHERE r.ctid >= %(first)s::tid AND r.ctid < %(last)s::tid
                   AND m.id = r.metric_id
                   AND m.id IN (SELECT unnest(%(metric_ids)b::integer[]))
                   AND {_CUTOFF} >= %(end)s
                RETURNING r.metric_id
            )
            SELECT m.device_id, g.metric_id, g.deleted
              FROM (SELECT metric_id, count(*) AS deleted FROM gone GROUP BY metric_id) AS g
              JOIN device_metrics m ON m.id = g.metric_id
            """
        ).format(chunk=chunk.table),
        {
            "first": f"({pages[0]},0)",
            "last": f"({pages[1]},0)",
            "metric_ids": list(metric_ids),
            "now": now,
            "end": chunk.range_end,
        },
    ).fetchall()
    return {(device_id, metric_id): count for device_id, metric_id, count in rows}


def upsert_watermarks(conn: Conn, metrics: Sequence[tuple[int, int]], now: datetime) -> int:
    """Mark the (metric id, row version) metrics enforced up to their cutoff at `now` (`now`
    itself for one not retained); a metric whose row changed since that version is left
    unmarked. How many were marked."""
    if not metrics:
        return 0
    cursor = conn.execute(
        f"""
        INSERT INTO retention_watermarks AS w (metric_id, enforced_before, metric_version)
        SELECT m.id, LEAST({_CUTOFF}, %(now)s::timestamptz), m.xmin
          FROM unnest(%(ids)b::integer[], %(versions)b::bigint[]) AS t(metric_id, version)
          JOIN device_metrics m ON m.id = t.metric_id AND m.xmin::text::bigint = t.version
        ON CONFLICT (metric_id) DO UPDATE
           SET enforced_before = EXCLUDED.enforced_before, metric_version = EXCLUDED.metric_version
        """,
        {"ids": [m[0] for m in metrics], "versions": [m[1] for m in metrics], "now": now},
    )
    return cursor.rowcount
