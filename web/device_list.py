"""The register's device list: a page of the devices that match the filters
(`web.device_filters`), or all of them for an export, each as a short summary."""

from __future__ import annotations

import math
from datetime import UTC
from typing import Any

from register import periods
from register.queries import Conn
from web import queries, reporting
from web.device_filters import Filters


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """One device in a list: enough to find it and decide whether to open its page."""
    return {
        "public_id": row["public_id"],
        "url": f"/devices/{row['public_id']}",
        "name": row["name"],
        "status": row["status"],
        "place": row["place"],
        "latitude": row["latitude"],
        "longitude": row["longitude"],
        "organisation": row["organisation"],
        "organisation_name": row["organisation_name"],
        "purposes": row["purposes"],
        "technology": row["technology"],
        "personal_data": row["personal"],
        "reporting_interval": (
            None if row["reporting_interval"] is None else periods.to_iso(row["reporting_interval"])
        ),
        "not_reporting_since": (
            None
            if row["not_reporting_since"] is None
            else row["not_reporting_since"].astimezone(UTC)
        ),
        "not_reporting": reporting.not_reporting_text(
            row["not_reporting_since"], row["reporting_interval"]
        ),
        "distance_m": None if row["distance"] is None else round(row["distance"]),
    }


def page(conn: Conn, filters: Filters) -> dict[str, Any]:
    """One page of matching devices, with the totals a list needs."""
    values = filters.query_values()
    total = queries.count_devices_matching(conn, values)
    size = filters.per_page
    rows = queries.list_device_summaries(conn, values, size, (filters.page - 1) * size)
    return {
        "filters": filters.as_args(),
        "total": total,
        "page": filters.page,
        "pages": max(1, math.ceil(total / size)),
        "page_size": size,
        "near": None
        if filters.near is None
        else {"latitude": filters.near[0], "longitude": filters.near[1]},
        "radius": filters.radius if filters.near else None,
        "devices": [summary(row) for row in rows],
    }


def everything(conn: Conn, filters: Filters) -> list[dict[str, Any]]:
    """Every matching device, for the GeoJSON and CSV exports of a list."""
    return [
        summary(row) for row in queries.list_device_summaries(conn, filters.query_values(), None, 0)
    ]
