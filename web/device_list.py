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
MAX_PAGE_SIZE = 500
MAX_SEARCH = 200
MAX_PAGE = 100_000  # 50 million devices at 500 a page; beyond it, the offset would overflow
PERSONAL_CHOICES = {"yes": True, "no": False}
FILTER_NAMES = (
    "q",
    "purpose",
    "technology",
    "personal",
    "organisation",
    "status",
    "near",
    "radius",
    "bbox",
    "page",
    "per_page",
)
DEFAULT_RADIUS = 500.0
MAX_RADIUS = 5000.0
METRES_PER_DEGREE = 111_320.0  # of latitude, and of longitude at the equator


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
    near: tuple[float, float] | None = None
    radius: float = DEFAULT_RADIUS
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north
    page: int = 1
    per_page: int = PAGE_SIZE

    def query_values(self) -> dict[str, Any]:
        """The values for `queries.list_device_summaries`."""
        box: dict[str, float | None] = dict.fromkeys(
            ("lat", "lon", "south", "north", "west", "east", "radius")
        )
        if self.near is not None:
            lat, lon = self.near
            dlat = self.radius / METRES_PER_DEGREE
            # Near the poles a degree of longitude shrinks to nothing: take the whole circle.
            cos_lat = math.cos(math.radians(lat))
            dlon = 180.0 if cos_lat < 0.01 else min(180.0, dlat / cos_lat)
            box = {
                "lat": lat,
                "lon": lon,
                "south": lat - dlat,
                "north": lat + dlat,
                "west": lon - dlon,
                "east": lon + dlon,
                "radius": self.radius,
            }
        west, south, east, north = self.bbox or (None, None, None, None)
        return {
            **box,
            "bbox_west": west,
            "bbox_south": south,
            "bbox_east": east,
            "bbox_north": north,
            "q": f"%{self.q}%" if self.q else None,
            "purpose": self.purpose,
            "technology": self.technology,
            "personal": self.personal,
            "organisation": self.organisation,
            "status": self.status,
        }

    def as_args(self, *, with_place: bool = True) -> dict[str, str]:
        """The filters as query-string arguments (without the page; without near and radius
        when `with_place` is false)."""
        args = {
            "q": self.q,
            "purpose": self.purpose,
            "technology": self.technology,
            "personal": None if self.personal is None else ("yes" if self.personal else "no"),
            "organisation": self.organisation,
            "status": self.status,
            "near": f"{self.near[0]:g},{self.near[1]:g}" if self.near and with_place else None,
            "radius": (
                f"{self.radius:g}"
                if self.near and with_place and self.radius != DEFAULT_RADIUS
                else None
            ),
            "bbox": ",".join(f"{c:g}" for c in self.bbox) if self.bbox else None,
            "per_page": str(self.per_page) if self.per_page != PAGE_SIZE else None,
        }
        return {k: v for k, v in args.items() if v}


def _term(category: str, value: str, name: str) -> str:
    if vocab.term(category, value) is None:
        hints = vocab.close_terms(category, value)
        hint = f"; did you mean {', '.join(hints)}?" if hints else ""
        raise BadFilter(f"{name}: {value[:60]!r} is not a DTPR {category.replace('_', ' ')}{hint}")
    return value


def read_filters(
    args: Mapping[str, str], organisations: list[str], *, strict: bool = False
) -> Filters:
    """Filters from query-string arguments; BadFilter for an unknown name or value.

    A plain HTML form sends its empty fields, so an empty value means "any" and spaces around a
    value do not count; `strict` (the API) names both as mistakes instead.
    """
    unknown = sorted(set(args) - set(FILTER_NAMES))
    if unknown:
        raise BadFilter(f"unknown filter {unknown[0]!r}; the filters are {', '.join(FILTER_NAMES)}")
    if strict:
        for name, value in args.items():
            if not value.strip():
                raise BadFilter(f"{name}: is empty; leave it out to not filter by it")
            if name != "q" and value != value.strip():
                raise BadFilter(f"{name}: has spaces around {value.strip()[:60]!r}")
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
    near, radius = _near(values.get("near"), values.get("radius"))
    page = _whole_number(values.get("page", "1"), "page", 1, MAX_PAGE)
    per_page = _whole_number(values.get("per_page", str(PAGE_SIZE)), "per_page", 1, MAX_PAGE_SIZE)
    if len(values.get("q", "")) > MAX_SEARCH:
        raise BadFilter(f"q: is longer than {MAX_SEARCH} characters")
    return Filters(
        q=values.get("q") or None,
        purpose=_term("purpose", values["purpose"], "purpose") if "purpose" in values else None,
        technology=(
            _term("technology", values["technology"], "technology")
            if "technology" in values
            else None
        ),
        personal=None if personal is None else PERSONAL_CHOICES[personal],
        organisation=organisation,
        status=status,
        near=near,
        radius=radius,
        bbox=_bbox(values["bbox"]) if "bbox" in values else None,
        page=page,
        per_page=per_page,
    )


def _whole_number(text: str, name: str, lowest: int, highest: int) -> int:
    allowed = f"from {lowest} to {highest:,}"
    try:
        number = int(text)
    except ValueError:
        raise BadFilter(f"{name}: must be a whole number {allowed}") from None
    if not lowest <= number <= highest:
        raise BadFilter(f"{name}: must be a whole number {allowed}")
    return number


def _bbox(text: str) -> tuple[float, float, float, float]:
    """A bounding box, west,south,east,north in degrees (the GeoJSON and OGC order), checked."""
    example = "e.g. -0.15,51.53,-0.13,51.55"
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise BadFilter(
            f"bbox: {text[:60]!r} must be west,south,east,north in degrees, {example}"
        ) from None
    for name, value, limit in (
        ("west", west, 180),
        ("south", south, 90),
        ("east", east, 180),
        ("north", north, 90),
    ):
        if not (math.isfinite(value) and -limit <= value <= limit):
            raise BadFilter(f"bbox: {name} {value:g} is out of range (-{limit} to {limit})")
    if south > north:
        raise BadFilter(f"bbox: south {south:g} is north of north {north:g}")
    if west > east:
        raise BadFilter(
            f"bbox: west {west:g} is east of east {east:g}; a box across the antimeridian "
            "is not supported"
        )
    return west, south, east, north


def _near(near: str | None, radius: str | None) -> tuple[tuple[float, float] | None, float]:
    """The point and radius of a "near me" search, checked."""
    if near is None:
        if radius is not None:
            raise BadFilter("radius: only applies with near=latitude,longitude")
        return None, DEFAULT_RADIUS
    parts = near.split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise BadFilter(
            f"near: {near[:40]!r} must be latitude,longitude in degrees, e.g. 51.5390,-0.1426"
        ) from None
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise BadFilter(f"near: latitude {lat:g} is out of range (-90 to 90)")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise BadFilter(f"near: longitude {lon:g} is out of range (-180 to 180)")
    if radius is None:
        return (lat, lon), DEFAULT_RADIUS
    try:
        metres = float(radius)
    except ValueError:
        raise BadFilter(f"radius: {radius[:20]!r} must be a number of metres") from None
    if not (math.isfinite(metres) and metres > 0):
        raise BadFilter("radius: must be a number of metres above 0")
    if metres > MAX_RADIUS:
        raise BadFilter(f"radius: {metres:g} m is too large; the largest is {MAX_RADIUS:g} m")
    return (lat, lon), metres


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
