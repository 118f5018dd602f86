"""The writer: take a batch from the backlog, check it, store it in one transaction, then ack.

Two threads make a pipeline, so that checking the next batch overlaps storing this one:
- the checker takes a batch from the backlog and holds every message to the register
  (`prepare`: parsing and checks, no database);
- the writer stores each checked batch, in order, and acknowledges its messages after the
  commit. The checker is at most two batches ahead of it: one waiting to be taken, and one
  waiting to be handed over.

A batch is checked against the register again just before it is stored if the register has
changed since it was checked (a device decommissioned meanwhile, or reloaded after an outage).

Readings go in by binary COPY straight into `readings`. A batch holding a reading that is stored
already (a message delivered twice) fails that, and is stored again by COPY into a
session-local staging table and one `INSERT … SELECT … ON CONFLICT DO NOTHING`, so that it adds
nothing twice. Quarantine records go in the same transaction. Only after the commit is each
message acknowledged to the broker. When the database fails, the batch is retried with
backoff, unacknowledged, while the checker, then the backlog (bounded), stop taking messages.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from ingest import queries, reasons
from ingest.backlog import Backlog
from ingest.checks import Limits, Outcome, check_message
from ingest.messages import Message, QuarantineRecord, Rejection, StagedReading
from ingest.register_cache import RegisterCache
from ingest.stats import IngestStats
from register.platform import db
from register.platform.config import Settings

log = logging.getLogger(__name__)

# Acknowledges the messages of a committed batch.
Ack = Callable[[list[Message]], None]


# Errors that say nothing about the data: the connection, the server, a deadlock. The batch is
# retried as it is. Any other error is about the batch's content, which is then stored one
# message at a time so that one bad message cannot hold up the rest.
RETRYABLE = (psycopg.OperationalError, psycopg.InterfaceError)

# After a batch fails the fast way (it holds a reading stored already), the batches of the next
# this many seconds take the staging table's way: a device that keeps repeating a time costs
# one failed COPY, and one ERROR in PostgreSQL's log, per pause rather than per batch.
FAST_PATH_PAUSE = 10.0


def clean_text(text: str) -> str:
    """Text PostgreSQL will take: no NUL characters, no lone surrogates."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


@dataclass
class Batch:
    messages: list[Message]
    outcomes: list[Outcome]
    rows: list[StagedReading] = field(default_factory=list)
    quarantine: list[QuarantineRecord] = field(default_factory=list)
    # True for the last resort: a message that could not be stored, kept as internal_error.
    fallback: bool = False
    # The register cache's generation it was checked against (by `Writer.prepare`).
    register_generation: int = 0


@dataclass
class DeviceActivity:
    """Last-seen times gathered in memory and written once per interval, not per message."""

    seen_us: dict[int, int] = field(default_factory=dict)
    stored_us: dict[int, int] = field(default_factory=dict)

    def note(self, device_id: int, seen: int, stored: int | None) -> None:
        if seen > self.seen_us.get(device_id, 0):
            self.seen_us[device_id] = seen
        if stored is not None and stored > self.stored_us.get(device_id, 0):
            self.stored_us[device_id] = stored

    def write(self, conn: psycopg.Connection[Any]) -> None:
        if self.seen_us:
            ids = sorted(self.seen_us)  # one lock order for every ingester
            queries.upsert_device_activity(
                conn, ids, [self.seen_us[i] for i in ids], [self.stored_us.get(i) for i in ids]
            )


def quarantine_record(
    message: Message, reason: str, text: str, device_id: int | None, keep: int
) -> QuarantineRecord:
    """What was refused, why, and the first `keep` bytes of the payload."""
    return QuarantineRecord(
        received_at=datetime.fromtimestamp(message.received_us / 1_000_000, UTC),
        source=clean_text(message.source),
        topic=clean_text(message.topic),
        payload=message.payload[:keep],
        payload_size=len(message.payload),
        reason=reason,
        message=clean_text(text),
        device_id=device_id,
        fingerprint=fingerprint(message, reason),
    )


def fingerprint(message: Message, reason: str) -> bytes:
    """The same for a message delivered again, so its quarantine record is stored once."""
    digest = hashlib.sha256()
    for part in (
        message.source.encode(),
        message.topic.encode("utf-8", "surrogatepass"),
        message.payload,
        reason.encode(),
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


class Writer(threading.Thread):
    def __init__(
        self,
        *,
        settings: Settings,
        backlog: Backlog,
        cache: RegisterCache,
        formats: dict[str, str],
        ack: Ack,
        stats: IngestStats,
        stopping: threading.Event,
    ) -> None:
        super().__init__(name="ingest-writer", daemon=True)
        self.settings = settings
        self.backlog = backlog
        self.cache = cache
        self.formats = formats  # source name -> payload format
        self.ack = ack
        self.stats = stats
        self.stopping = stopping
        ingest = settings.ingest
        self.limits = Limits(ingest.max_payload_bytes, ingest.future_skew * 1_000_000)
        self.conn: psycopg.Connection[Any] | None = None
        self.activity = DeviceActivity()
        self.next_activity_write = time.monotonic() + ingest.last_seen_interval
        self.finished = threading.Event()
        self.fast_again_at = 0.0  # see FAST_PATH_PAUSE
        # Checked batches on their way from the checker thread to this one.
        self.checked: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self.checker = threading.Thread(
            target=self._check_batches, name="ingest-checker", daemon=True
        )

    def run(self) -> None:
        try:
            while not self.cache.loaded.wait(0.5):
                if self.stopping.is_set():
                    return
            self._connect_ahead()
            self.checker.start()
            while True:
                try:
                    batch = self.checked.get(timeout=self.settings.ingest.batch_wait)
                except queue.Empty:
                    if self.stopping.is_set() and not self.checker.is_alive():
                        break
                    if time.monotonic() >= self.next_activity_write and self.activity.seen_us:
                        self._store_until_done(Batch([], []))
                    continue
                if batch is None or not self._store_until_done(batch):
                    break  # the checker has stopped, or stopping and the database is down
            self._write_activity_once()
        except Exception:
            # The thread ends; the ingester notices and exits, and a new process starts clean.
            log.exception("the writer failed")
        finally:
            self._close()
            self.finished.set()

    def _connect_ahead(self) -> None:
        """Connect before the first batch, so that it does not wait for it; if the database
        cannot be reached yet, the first batch waits and retries as in any outage."""
        try:
            self._connection()
        except psycopg.Error as error:
            log.warning("cannot reach the database yet: %s", _first_line(error))
            self._close()

    def _check_batches(self) -> None:
        """The checker thread: batches from the backlog, checked, handed to the writer."""
        try:
            while not self.stopping.is_set():
                messages = self.backlog.take(
                    self.settings.ingest.batch_size, self.settings.ingest.batch_wait
                )
                if messages:
                    self._hand_over(self.prepare(messages))
        except Exception:
            log.exception("the checker failed")
        finally:
            self._hand_over(None)

    def _hand_over(self, batch: Batch | None) -> None:
        """Give the writer a checked batch (None: no more), waiting while it has one already.

        Once stopping, a batch the writer will not take is dropped: it was never acknowledged,
        so the broker delivers it again.
        """
        while True:
            try:
                self.checked.put(batch, timeout=0.5)
                return
            except queue.Full:
                if self.stopping.is_set() and not self.is_alive():
                    return

    def prepare(self, messages: list[Message]) -> Batch:
        """Check every message of a batch against the register (no database needed)."""
        now_us = time.time_ns() // 1000
        generation = self.cache.generation  # read first: a change during the checks shows
        outcomes = [
            check_message(m, self.formats[m.source], self.cache, self.limits, now_us)
            for m in messages
        ]
        batch = Batch(messages, outcomes, register_generation=generation)
        keep = self.settings.ingest.quarantine_payload_bytes
        for message, outcome in zip(messages, outcomes, strict=True):
            batch.rows.extend(outcome.rows)
            if not outcome.rejections:
                continue
            for rejection in outcome.rejections:
                batch.quarantine.append(
                    quarantine_record(
                        message, rejection.reason, rejection.text, rejection.device_id, keep
                    )
                )
        return batch

    def fallback(self, batch: Batch) -> Batch:
        """A one-message batch that failed, reduced to a bare internal_error quarantine record."""
        [message] = batch.messages
        device_id = batch.outcomes[0].device_id if batch.outcomes else None
        text = "the ingester could not store this message; its log has the details"
        outcome = Outcome(rejections=[Rejection(reasons.INTERNAL_ERROR, text, device_id)])
        keep = self.settings.ingest.quarantine_payload_bytes
        record = quarantine_record(message, reasons.INTERNAL_ERROR, text, None, keep)
        return Batch([message], [outcome], quarantine=[record], fallback=True)

    def _store_until_done(self, batch: Batch) -> bool:
        """Store the batch, retrying with backoff on database errors, then ack it; False if
        it was given up, unacknowledged, because the ingester is stopping."""
        backoff = 0.5
        while True:
            stale = batch.register_generation != self.cache.generation
            if stale and batch.messages and not batch.fallback:
                batch = self.prepare(batch.messages)
            try:
                started = time.perf_counter()
                stored = self._store(batch)
                break
            except Exception as error:  # sorted below: nothing may kill the writer
                self._close()
                if not isinstance(error, RETRYABLE) and len(batch.messages) > 1:
                    log.warning(
                        "a batch of %d messages failed (%s); storing them one by one",
                        len(batch.messages),
                        _first_line(error),
                    )
                    return all(
                        self._store_until_done(self.prepare([message]))
                        for message in batch.messages
                    )
                if not isinstance(error, RETRYABLE) and batch.messages and not batch.fallback:
                    message = batch.messages[0]
                    log.error(
                        "cannot store a message from %s on %r (%s); quarantining it",
                        message.source,
                        message.topic[:200],
                        _first_line(error),
                    )
                    batch = self.fallback(batch)
                    continue
                # The database cannot take even a quarantine record: wait as for an outage.
                self.stats.database_errors.inc()
                log.warning(
                    "could not store a batch of %d messages (%s); retrying in %.1f s",
                    len(batch.messages),
                    _first_line(error),
                    backoff,
                )
                if self.stopping.wait(backoff):
                    return False  # stopping: leave it unacked; the broker will redeliver it
                backoff = min(backoff * 2, self.settings.ingest.retry_max_backoff)
        committed_us = time.time_ns() // 1000
        self.ack(batch.messages)
        self._count(batch, stored, time.perf_counter() - started, committed_us)
        return True

    def _store(self, batch: Batch) -> int:
        """Store a batch in one transaction; the number of readings stored (not already there).

        The fast way first: COPY straight into readings. Only a batch holding a reading that is
        stored already fails it (a message delivered again, a device repeating a time), or a
        deadlock with another ingester storing the same readings; the transaction is then done
        again the staging table's way, `INSERT … ON CONFLICT DO NOTHING` in one order for every
        ingester, and so are the batches of the next FAST_PATH_PAUSE seconds.
        """
        fast = time.monotonic() >= self.fast_again_at
        try:
            return self._transaction(batch, fast=fast)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected):
            if not fast:
                raise
            self.fast_again_at = time.monotonic() + FAST_PATH_PAUSE
            return self._transaction(batch, fast=False)

    def _transaction(self, batch: Batch, *, fast: bool) -> int:
        conn = self._connection()
        due = time.monotonic() >= self.next_activity_write
        with conn.transaction():
            stored = 0
            if batch.rows and fast:
                queries.copy_new_readings(conn, batch.rows)
                stored = len(batch.rows)
            elif batch.rows:
                queries.copy_staged_readings(conn, batch.rows)
                stored = queries.insert_staged_readings(conn)
            if batch.quarantine:
                queries.insert_quarantine_records(conn, batch.quarantine)
            self._note_activity(batch)
            if due:
                self.activity.write(conn)
        if due:
            self.activity = DeviceActivity()
            self.next_activity_write = time.monotonic() + self.settings.ingest.last_seen_interval
        return stored

    def _write_activity_once(self) -> None:
        """On the way out: write the last-seen times gathered since the last write, if we can."""
        if not self.activity.seen_us:
            return
        try:
            with self._connection().transaction():
                self.activity.write(self._connection())
        except psycopg.Error as error:
            log.warning("could not write last-seen times on stopping: %s", error)

    def _note_activity(self, batch: Batch) -> None:
        for message, outcome in zip(batch.messages, batch.outcomes, strict=True):
            if outcome.device_id is not None:
                self.activity.note(outcome.device_id, message.received_us, outcome.newest_time_us())

    def _connection(self) -> psycopg.Connection[Any]:
        if self.conn is None or self.conn.closed:
            try:
                self.conn = db.connect(self.settings, **db.KEEPALIVES)
            except db.DatabaseError as error:
                raise psycopg.OperationalError(str(error)) from None
            self.conn.autocommit = True  # transactions are explicit, per batch
            queries.create_staging_tables(self.conn)
        return self.conn

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _count(self, batch: Batch, stored: int, seconds: float, committed_us: int) -> None:
        s = self.stats
        s.stored.inc(stored)
        s.duplicates.inc(len(batch.rows) - stored)
        rejected: Counter[str] = Counter()
        for outcome in batch.outcomes:
            s.not_retained.inc(outcome.not_retained)
            rejected.update(outcome.rejected_readings)
            first = outcome.first_time_us()
            if first is not None:
                s.delay.observe(max(0.0, (committed_us - first) / 1_000_000))
        for reason, count in rejected.items():
            s.rejected.labels(reason).inc(count)
        for record in batch.quarantine:
            s.quarantined.labels(record.reason).inc()
        if batch.messages:
            s.batch_messages.observe(len(batch.messages))
            s.batch_seconds.observe(seconds)
