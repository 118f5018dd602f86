"""A device's open readings: only metrics declared open data and not personal, and only as
time_bucket aggregates over a bounded time range.

A personal-data metric's raw values are never served (trust rule 6); asking for one is refused
with a reason, as is a metric the register does not publish.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from register.queries import Conn
from register.queries import registry as register_queries
from web import queries

BUCKET_WIDTHS = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
}
DEFAULT_SPAN = timedelta(hours=24)
MAX_BUCKETS = 10_000
LICENCE = "Open Government Licence v3.0"


class NotServed(Exception):
    """The readings asked for cannot be served; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    bucket: str


def window(start: datetime | None, end: datetime | None, bucket: str) -> Window:
    """The time range and bucket asked for, with defaults, checked (NotServed 400 if wrong)."""
    width = BUCKET_WIDTHS[bucket]
    try:
        end = (end or datetime.now(UTC)).astimezone(UTC)
        start = (start or end - DEFAULT_SPAN).astimezone(UTC)
    except OverflowError:
        raise NotServed(400, "start, end: out of range (years 1 to 9999 in UTC)") from None
    if start >= end:
        raise NotServed(400, "start: must be before end")
    if (end - start) / width > MAX_BUCKETS:
        raise NotServed(
            400,
            f"start, end: {bucket} buckets over that range would be more than "
            f"{MAX_BUCKETS:,}; shorten the range or use wider buckets",
        )
    return Window(start, end, bucket)


def series(conn: Conn, public_id: str, metric_key: str, asked: Window) -> dict[str, Any]:
    """The bucketed readings of one open metric of one device."""
    row = register_queries.get_device_row(conn, public_id)
    if row is None:
        raise NotServed(404, f"There is no device {public_id!r} in the register.")
    declared = {m["key"]: m for m in register_queries.list_declared_metrics(conn, [row["id"]])}
    metric = declared.get(metric_key)
    if metric is None:
        keys = ", ".join(sorted(declared)) or "none"
        raise NotServed(
            404, f"metric: {public_id} declares no metric {metric_key[:64]!r}; it declares {keys}"
        )
    if metric["personal"]:
        raise NotServed(
            403,
            f"metric: {metric_key} is personal data; its readings are never published",
        )
    if not metric["open_data"]:
        raise NotServed(
            403, f"metric: {metric_key} is not declared open data, so it is not published"
        )
    buckets = queries.list_reading_buckets(
        conn, row["id"], metric["id"], BUCKET_WIDTHS[asked.bucket], start=asked.start, end=asked.end
    )
    return {
        "public_id": public_id,
        "metric": {"key": metric["key"], "label": metric["label"], "unit": metric["unit"]},
        "bucket": asked.bucket,
        "start": asked.start,
        "end": asked.end,
        "licence": LICENCE,
        "buckets": [{**b, "time": b["time"].astimezone(UTC)} for b in buckets],
    }
