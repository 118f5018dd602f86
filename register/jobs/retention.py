"""enforce_retention: delete every reading older than its metric's declared retention.

A reading expires when it is older than `now` minus its metric's retention (one `now` for the
whole run; "not retained" expires at once). That holds for every `device_metrics` row: a
withdrawn metric keeps the retention last declared, and a decommissioned device's readings go
when they expire, not before. Readings go two ways:

- **Whole chunks** (`readings` has one-day chunks). A chunk that holds no unexpired reading is
  dropped with TimescaleDB's `drop_chunks`: one index probe per metric whose cutoff falls before
  the chunk's end (no other metric can have an unexpired reading there) tells, stopping at the
  first reading found. A chunk older than the longest retention of all needs no probe at all.
  The chunk is first locked against writes, probed again, and its readings counted by
  (device, metric); `drop_chunks` then also locks `device_metrics` for a moment, for the
  chunk's foreign key.
- **Batches**, everywhere else, straight from one chunk's table, at most
  `jobs.retention_batch_rows` rows per transaction, a data-modifying CTE counting what went by
  (device, metric). The metrics whose every reading in the chunk has expired go a range of the
  table's pages at a time (few enough pages that they cannot hold more rows than a batch may
  delete: one pass over the table, no index probe per metric); the metrics whose cutoff or
  watermark falls inside the chunk go through the readings index, from where the last batch
  stopped. Deletes take no lock that ingest's inserts wait for; an insert that collides with a
  row being deleted (a late duplicate) waits for one short transaction at most.

Every transaction waits at most `jobs.lock_timeout` for a lock. A step that does not get one is
given up for this run (logged and counted; a chunk whose drop gave up is deleted in batches).

**Watermarks**: probing every chunk for every metric again at every run would cost a probe per
(chunk, metric) pair, and walk the index entries of everything deleted but not yet vacuumed.
So the run remembers, in `retention_watermarks`, for each metric a time before which none of
its readings is left (`enforced_before`, this run's cutoff), and next time deletes only from
`enforced_before - IN_FLIGHT` on, in the one or two chunks that span that. The mark holds:

- for the readings there were: the run deleted every expired one (a metric whose step gave up
  on a lock gets no new mark);
- for readings inserted later: the ingester refuses a reading older than its retention when it
  checks it (ingest/checks.py). Checked at or after this run's `now` with this retention, a
  reading is at or after the mark. One checked before `now` but committed after the run had
  passed its chunk (a batch in flight or retried through an outage), or checked by an ingester
  whose clock is behind, falls at most IN_FLIGHT below the mark, and the next run deletes from
  there;
- when the retention changes: the mark is kept with the metric row's version (its `xmin`), and
  any change to the row gives it a new one, so a retention lengthened and shortened again
  between two runs voids the mark (a lengthened retention lets the ingester store older
  readings), and so does any other change; the next run deletes that metric's readings from
  the beginning;
- when the ingester has not heard of a change yet: it reloads a changed device within a second
  and the whole register every `ingest.register_refresh` seconds, so until then it may still
  enforce the retention before the change. A metric without a valid mark therefore gets one
  only once its device was last changed (`devices.updated_at`, which every change through the
  register sets) more than `register_refresh` plus IN_FLIGHT ago; until then each run deletes
  its readings from the beginning.

What a mark assumes, then: readings arrive through the ingester (one copied in by hand below a
mark is not looked for: empty `retention_watermarks` after loading old readings), a reading is
committed within IN_FLIGHT of its check or not at all, and a retention changed straight in
SQL, not through the register, reaches the ingester before the next run.
A watermark only narrows where a run looks; it never makes a run delete anything.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from psycopg import errors

from register.jobs.outcome import Outcome
from register.jobs.settings import JobsSettings
from register.platform.config import Settings
from register.platform.db import transaction
from register.queries import Conn
from register.queries import retention as queries
from register.queries.retention import Chunk, MetricToEnforce

log = logging.getLogger(__name__)

# How long before it commits a reading may have been checked (a batch the ingester retries
# through a database outage), together with how far an ingester's clock may lag the job's.
IN_FLIGHT = timedelta(hours=1)
# A lock not got in time, or a deadlock with ingest: the step gives way.
GAVE_WAY = (errors.LockNotAvailable, errors.DeadlockDetected)
BEGINNING = datetime.min.replace(tzinfo=UTC)
NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Plan:
    """One metric's part in this run: its readings in [not_before, cutoff) may be expired."""

    metric: MetricToEnforce
    cutoff: datetime
    not_before: datetime


@dataclass
class Tally:
    """What the run did so far."""

    deleted: Counter[tuple[int, int]] = field(default_factory=Counter)
    chunks_dropped: int = 0
    dropped_rows: int = 0
    drop_seconds: float = 0.0
    chunks_batched: int = 0
    batches: int = 0
    batched_rows: int = 0
    batched_seconds: float = 0.0
    paused_seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    # Metrics whose expired readings may not all be gone: they get no new watermark.
    unfinished: set[int] = field(default_factory=set)

    def gave_way(self, step: str, error: Exception) -> None:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        log.warning("retention: %s gave way (%s); left for the next run", step, first_line)
        self.skipped.append(f"{step}: {first_line}")


def enforce_retention(conn: Conn, settings: Settings, *, now: datetime | None = None) -> Outcome:
    """Delete every expired reading; `now` is the time the cutoffs count from (default: now)."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    lock_timeout = settings.jobs.lock_timeout
    with transaction(conn):
        queries.set_up_step(conn, lock_timeout)
        metrics = queries.list_metrics_to_enforce(conn)
        chunks = queries.list_chunks(conn)
        most_per_page = queries.get_most_rows_per_page(conn)
    # Pages a batch may go over: so few that they cannot hold more rows than it may delete.
    pages = settings.jobs.retention_batch_rows // most_per_page
    plans = plan_metrics(metrics, now)
    tally = Tally()
    dropped = drop_expired_chunks(conn, chunks, now, lock_timeout, tally)
    for targets in chunk_targets([c for c in chunks if c not in dropped], plans):
        delete_in_batches(conn, targets, pages, now=now, settings=settings, tally=tally)
    marked = mark_enforced(conn, plans, now, settings, tally)
    details: dict[str, Any] = {
        "now": now.isoformat(),
        "chunks_dropped": tally.chunks_dropped,
        "dropped_rows": tally.dropped_rows,
        "drop_seconds": round(tally.drop_seconds, 3),
        "chunks_batched": tally.chunks_batched,
        "batches": tally.batches,
        "batched_rows": tally.batched_rows,
        "batched_seconds": round(tally.batched_seconds, 3),
        "paused_seconds": round(tally.paused_seconds, 3),
        "steps_skipped": len(tally.skipped),
        "skipped": tally.skipped,
        "metrics": len(plans),
        "metrics_from_watermark": sum(p.metric.enforced_before is not None for p in plans),
        "watermarks_set": marked,
        "seconds": round(time.perf_counter() - started, 3),
    }
    rows = tally.dropped_rows + tally.batched_rows
    return Outcome(rows, summary(rows, len(tally.skipped)), details, dict(tally.deleted))


def summary(rows: int, skipped: int) -> str:
    said = f"{rows:,} readings deleted" if rows or skipped else ""
    if skipped:
        said += f"; {skipped} step{'s' if skipped > 1 else ''} gave way to a lock"
    return said


def plan_metrics(metrics: Sequence[MetricToEnforce], now: datetime) -> list[Plan]:
    """Each metric's cutoff at `now`, and where its expired readings may start."""
    cutoffs: dict[float, datetime] = {}
    plans = []
    for metric in metrics:
        cutoff = cutoffs.get(metric.retention_seconds)
        if cutoff is None:
            cutoff = cutoffs[metric.retention_seconds] = (
                NEVER
                if metric.retention_seconds == 0
                else now - timedelta(seconds=metric.retention_seconds)
            )
        known = metric.enforced_before
        plans.append(Plan(metric, cutoff, BEGINNING if known is None else known - IN_FLIGHT))
    return plans


def drop_expired_chunks(
    conn: Conn, chunks: Sequence[Chunk], now: datetime, lock_timeout: float, tally: Tally
) -> set[Chunk]:
    """Drop every chunk (before the one `now` falls in) that holds no unexpired reading."""
    candidates = [chunk for chunk in chunks if chunk.range_end <= now]
    try:
        with transaction(conn):
            queries.set_up_step(conn, lock_timeout)
            expired = queries.list_chunks_without_unexpired(conn, candidates, now)
    except GAVE_WAY as error:
        tally.gave_way("probing the chunks", error)
        return set()
    dropped: set[Chunk] = set()
    for chunk in expired:
        started = time.perf_counter()
        try:
            with transaction(conn):
                queries.set_up_step(conn, lock_timeout)
                queries.lock_chunk_against_writes(conn, chunk)
                # Probed again under the lock: a retention may have been lengthened meanwhile.
                if queries.holds_unexpired_reading(conn, chunk, now):
                    continue
                counts = queries.count_readings_by_metric(conn, chunk)
                queries.drop_chunk(conn, chunk)
        except GAVE_WAY as error:
            tally.gave_way(f"dropping {chunk.name}", error)
            continue
        finally:
            tally.drop_seconds += time.perf_counter() - started
        dropped.add(chunk)
        tally.chunks_dropped += 1
        tally.dropped_rows += sum(counts.values())
        tally.deleted.update(counts)
    return dropped


@dataclass(frozen=True)
class Targets:
    """The metrics that may have expired readings in one chunk."""

    chunk: Chunk
    # Every reading of these in the chunk has expired, and none is known gone.
    whole: list[Plan] = field(default_factory=list)
    # Only some of these may have: their cutoff or watermark falls within the chunk.
    partial: list[Plan] = field(default_factory=list)


def chunk_targets(chunks: Sequence[Chunk], plans: Sequence[Plan]) -> list[Targets]:
    """For each chunk (oldest first), the metrics whose [not_before, cutoff) overlaps its range,
    in the readings index's order."""
    starts = [c.range_start for c in chunks]
    ends = [c.range_end for c in chunks]
    targets = [Targets(chunk) for chunk in chunks]
    for plan in plans:
        if plan.not_before >= plan.cutoff:
            continue
        first = bisect.bisect_right(ends, plan.not_before)
        last = bisect.bisect_left(starts, plan.cutoff)
        for found in targets[first:last]:
            chunk = found.chunk
            whole = plan.not_before <= chunk.range_start and plan.cutoff >= chunk.range_end
            (found.whole if whole else found.partial).append(plan)
    return [found for found in targets if found.whole or found.partial]


def delete_in_batches(
    conn: Conn,
    targets: Targets,
    pages: int,
    *,
    now: datetime,
    settings: Settings,
    tally: Tally,
) -> None:
    """Delete the chunk's expired readings of its target metrics, one bounded batch per
    transaction: the wholly expired metrics `pages` pages of the chunk's table at a time (if a
    batch may go over any), the others through the readings index."""
    limit = settings.jobs.retention_batch_rows
    chunk = targets.chunk
    tally.chunks_batched += 1
    whole, some = targets.whole, targets.partial
    if not pages:  # batches too small for a page: every metric through the index, in its order
        whole, some = [], sorted([*whole, *some], key=index_order)
    if whole and not _delete_whole(
        conn, chunk, whole, pages, now=now, settings=settings, tally=tally
    ):
        tally.unfinished.update(plan.metric.metric_id for plan in some)  # the chunk gave way
        return
    metric_ids = [plan.metric.metric_id for plan in some]
    not_before = [plan.not_before for plan in some]
    position = {metric_id: i for i, metric_id in enumerate(metric_ids)}
    start = 0
    while start < len(metric_ids):
        deleted = _batch(
            conn,
            chunk,
            metric_ids[start:],
            partial(
                queries.delete_expired_batch,
                conn,
                chunk,
                metric_ids=metric_ids[start:],
                not_before=not_before[start:],
                now=now,
                limit=limit,
            ),
            jobs=settings.jobs,
            tally=tally,
        )
        if deleted is None or sum(deleted.values()) < limit:
            break
        # A batch that reached the limit finished every metric before the last one it
        # deleted from: the next starts there.
        start = max(position[metric_id] for _, metric_id in deleted)


def index_order(plan: Plan) -> tuple[int, int]:
    return plan.metric.device_id, plan.metric.metric_id


def _delete_whole(
    conn: Conn,
    chunk: Chunk,
    plans: Sequence[Plan],
    step: int,
    *,
    now: datetime,
    settings: Settings,
    tally: Tally,
) -> bool:
    """Delete the readings of wholly expired metrics from the chunk, `step` pages at a time up
    to its last page (pages a late insert added included); False if a batch gave way."""
    metric_ids = [plan.metric.metric_id for plan in plans]
    page = 0
    while True:
        with transaction(conn):
            if page >= queries.count_pages(conn, chunk):
                return True
        deleted = _batch(
            conn,
            chunk,
            metric_ids,
            partial(
                queries.delete_expired_whole_pages,
                conn,
                chunk,
                metric_ids=metric_ids,
                pages=(page, page + step),
                now=now,
            ),
            jobs=settings.jobs,
            tally=tally,
        )
        if deleted is None:
            return False
        page += step


def _batch(
    conn: Conn,
    chunk: Chunk,
    metric_ids: Sequence[int],
    delete: Callable[[], dict[tuple[int, int], int]],
    *,
    jobs: JobsSettings,
    tally: Tally,
) -> dict[tuple[int, int], int] | None:
    """Run one batch in a transaction of its own; what it deleted, or None if it gave way (the
    metrics it was for are then left for the next run). Then pause for `jobs.retention_pause`
    of the batch's time, so that ingest, which shares the machine, keeps most of it."""
    began = time.perf_counter()
    try:
        with transaction(conn):
            queries.set_up_step(conn, jobs.lock_timeout)
            deleted = delete()
    except GAVE_WAY as error:
        tally.gave_way(f"deleting from {chunk.name}", error)
        tally.unfinished.update(metric_ids)
        return None
    finally:
        took = time.perf_counter() - began
        tally.batched_seconds += took
    pause = took * jobs.retention_pause
    time.sleep(pause)
    tally.paused_seconds += pause
    tally.batches += 1
    tally.batched_rows += sum(deleted.values())
    tally.deleted.update(deleted)
    return deleted


def mark_enforced(
    conn: Conn, plans: Sequence[Plan], now: datetime, settings: Settings, tally: Tally
) -> int:
    """Record this run's cutoffs as the metrics' watermarks, where they hold (see the module's
    docstring); how many were recorded."""
    settled = now - timedelta(seconds=settings.ingest.register_refresh) - IN_FLIGHT
    marks = [
        (plan.metric.metric_id, plan.metric.version)
        for plan in plans
        if plan.metric.metric_id not in tally.unfinished
        and (plan.metric.enforced_before is not None or plan.metric.device_updated_at <= settled)
    ]
    try:
        with transaction(conn):
            queries.set_up_step(conn, settings.jobs.lock_timeout)
            return queries.upsert_watermarks(conn, marks, now)
    except GAVE_WAY as error:
        tally.gave_way("recording the watermarks", error)
        return 0
