"""The register's device list: filters read from a query string, checked, and applied.

The same filters drive the home page's plain HTML form and the list's `.json`, `.geojson`
and `.csv` twins. A filter value that cannot be right is an error that says why, never an
empty list that looks like an answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from register import vocab
from register.queries import Conn
from register.schemas import STATUSES
from web import queries

PAGE_SIZE = 50
PERSONAL_CHOICES = {"yes": True, "no": False}
FILTER_NAMES = ("q", "purpose", "technology", "personal", "organisation", "status", "page")


class BadFilter(ValueError):
    """A filter value that cannot be applied; the message says which and why."""


@dataclass(frozen=True)
class Filters:
    q: str | None = None
    purpose: str | None = None
    technology: str | None = None
    personal: bool | None = None
    organisation: str | None = None
    status: str | None = None
    page: int = 1

    def query_values(self) -> dict[str, Any]:
        """The values for `queries.list_device_summaries`."""
        return {
            "q": f"%{self.q}%" if self.q else None,
            "purpose": self.purpose,
            "technology": self.technology,
            "personal": self.personal,
            "organisation": self.organisation,
            "status": self.status,
        }

    def as_args(self) -> dict[str, str]:
        """The filters as query-string arguments (without the page)."""
        args = {
            "q": self.q,
            "purpose": self.purpose,
            "technology": self.technology,
            "personal": None if self.personal is None else ("yes" if self.personal else "no"),
            "organisation": self.organisation,
            "status": self.status,
        }
        return {k: v for k, v in args.items() if v}


def _term(category: str, value: str, name: str) -> str:
    if vocab.term(category, value) is None:
        hints = vocab.close_terms(category, value)
        hint = f"; did you mean {', '.join(hints)}?" if hints else ""
        raise BadFilter(f"{name}: {value[:60]!r} is not a DTPR {category.replace('_', ' ')}{hint}")
    return value


def read_filters(args: Mapping[str, str], organisations: list[str]) -> Filters:
    """Filters from query-string arguments; BadFilter for an unknown name or value."""
    unknown = sorted(set(args) - set(FILTER_NAMES))
    if unknown:
        raise BadFilter(f"unknown filter {unknown[0]!r}; the filters are {', '.join(FILTER_NAMES)}")
    values = {k: v.strip() for k, v in args.items() if v.strip()}
    personal = values.get("personal")
    if personal is not None and personal not in PERSONAL_CHOICES:
        raise BadFilter(f"personal: {personal[:20]!r} must be yes or no")
    status = values.get("status")
    if status is not None and status not in STATUSES:
        raise BadFilter(f"status: {status[:20]!r} must be one of {', '.join(STATUSES)}")
    organisation = values.get("organisation")
    if organisation is not None and organisation not in organisations:
        raise BadFilter(f"organisation: no organisation {organisation[:60]!r} in the register")
    try:
        page = int(values.get("page", "1"))
    except ValueError:
        raise BadFilter("page: must be a whole number from 1") from None
    if page < 1:
        raise BadFilter("page: must be a whole number from 1")
    return Filters(
        q=values.get("q", "")[:200] or None,
        purpose=_term("purpose", values["purpose"], "purpose") if "purpose" in values else None,
        technology=(
            _term("technology", values["technology"], "technology")
            if "technology" in values
            else None
        ),
        personal=None if personal is None else PERSONAL_CHOICES[personal],
        organisation=organisation,
        status=status,
        page=page,
    )


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
    }


def page(conn: Conn, filters: Filters) -> dict[str, Any]:
    """One page of matching devices, with the totals a list needs."""
    values = filters.query_values()
    total = queries.count_devices_matching(conn, values)
    rows = queries.list_device_summaries(conn, values, PAGE_SIZE, (filters.page - 1) * PAGE_SIZE)
    return {
        "filters": filters.as_args(),
        "total": total,
        "page": filters.page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "page_size": PAGE_SIZE,
        "devices": [summary(row) for row in rows],
    }


def everything(conn: Conn, filters: Filters) -> list[dict[str, Any]]:
    """Every matching device, for the GeoJSON and CSV exports of a list."""
    return [
        summary(row) for row in queries.list_device_summaries(conn, filters.query_values(), None, 0)
    ]
