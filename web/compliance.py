"""The compliance figures as the pages and the API show them: for a device, each metric's oldest
stored reading against its declared retention and the data refused in the last 7 and 30 days by
reason; for an organisation, the share of its devices within retention and its refused data.

Everything is read from the figures the compliance job stores (register/jobs/compliance.py),
never computed from the readings here, and says when it was computed, or that it has not been.
A metric is within its retention when its oldest stored reading is no older than the retention
plus one interval of the retention job (trust rule 4).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from register import periods
from register.platform.config import Settings
from register.queries import Conn
from register.queries import compliance as compliance_queries
from web import refusal_reasons

DAY = 86400.0


def grace() -> timedelta:
    """How far past its retention a reading may be before it counts as kept too long: one
    interval of the retention job, which deletes it."""
    settings: Settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    return timedelta(seconds=settings.jobs.retention_interval)


def for_device(conn: Conn, device_id: int, declared: list[dict[str, Any]]) -> dict[str, Any]:
    """The device's compliance; `declared` are its declared metrics as its card shows them.
    With it, how many of its readings the retention job deleted over the days its runs are
    recorded: the proof that expired data goes."""
    settings: Settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    days = settings.jobs.history_days
    since = datetime.now(UTC) - timedelta(days=days)
    computed_at = compliance_queries.get_computed_at(conn)
    measured = compliance_queries.list_metric_figures(conn, device_id)
    measured_keys = {row["key"] for row in measured}
    checks = [_check(row, grace()) for row in measured]
    # A metric declared after the figures were computed has none yet.
    checks += [_unmeasured(m) for m in declared if m["key"] not in measured_keys]
    refusals = compliance_queries.list_device_refusals(conn, device_id)
    judged = [c["within_retention"] for c in checks if c["within_retention"] is not None]
    return {
        "computed_at": computed_at,
        "retention": checks,
        "all_within_retention": None if computed_at is None else all(judged),
        "deleted_by_retention": {
            "days": days,
            "readings": compliance_queries.count_deleted_by_retention(conn, device_id, since),
        },
        "refused": {
            "last_7_days": sum(r["last_7_days"] for r in refusals),
            "last_30_days": sum(r["last_30_days"] for r in refusals),
            "by_reason": [{**r, "text": refusal_reasons.describe(r["reason"])} for r in refusals],
        },
    }


def _check(row: dict[str, Any], grace: timedelta) -> dict[str, Any]:
    oldest: datetime | None = row["oldest_at"]
    age = None if oldest is None else row["computed_at"] - oldest
    return {
        "key": row["key"],
        "label": row["label"],
        "withdrawn": row["withdrawn"],
        "oldest_stored_at": oldest,
        "oldest_stored_days": None if age is None else round(age.total_seconds() / DAY, 1),
        "declared_days": row["retention"].total_seconds() / DAY,
        "declared_text": periods.describe(row["retention"]),
        "within_retention": age is None or age <= row["retention"] + grace,
    }


def _unmeasured(metric: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": metric["key"],
        "label": metric["label"],
        "withdrawn": False,
        "oldest_stored_at": None,
        "oldest_stored_days": None,
        "declared_days": metric["retention_days"],
        "declared_text": metric["retention_text"],
        "within_retention": None,
    }


def for_organisation(conn: Conn, organisation_id: int) -> dict[str, Any]:
    """The organisation's compliance: the share of its devices with every metric within its
    retention, and its devices' refused data."""
    figures = compliance_queries.get_organisation_compliance(conn, organisation_id)
    if figures is None:
        return {
            "computed_at": None,
            "devices_within_retention": None,
            "devices_measured": None,
            "share_within_retention": None,
            "refused_last_7_days": None,
            "refused_last_30_days": None,
        }
    devices, within = figures["devices"], figures["within_retention"]
    return {
        "computed_at": figures["computed_at"],
        "devices_within_retention": within,
        "devices_measured": devices,
        "share_within_retention": round(within / devices, 4) if devices else None,
        "refused_last_7_days": int(figures["refused_7_days"]),
        "refused_last_30_days": int(figures["refused_30_days"]),
    }
