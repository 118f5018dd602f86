"""The device list's filters: read from a query string, checked, and turned into query values.

The same filters drive the home page's plain HTML form, the list's `.json`, `.geojson` and
`.csv` twins, and API v1's device list, whose OpenAPI document describes them from `FILTERS`,
the table that reads them. A filter value that cannot be right is an error that says why, never
an empty list that looks like an answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from register import vocab
from register.schemas import SLUG, STATUSES

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_SEARCH = 200
MAX_PAGE = 100_000  # 50 million devices at 500 a page; beyond it, the offset would overflow
PERSONAL_CHOICES = {"yes": True, "no": False}
REPORTING_CHOICES = {"yes": True, "no": False}
DEFAULT_RADIUS = 500.0
MAX_RADIUS = 5000.0
METRES_PER_DEGREE = 111_320.0  # of latitude, and of longitude at the equator
NEAR_EXAMPLE = "51.5390,-0.1426"
BBOX_EXAMPLE = "-0.15,51.53,-0.13,51.55"
# Degrees as plain decimals in range (latitude -90 to 90, longitude -180 to 180), for the
# document's patterns: `_near` and `_bbox` check the same ranges.
_LATITUDE = r"-?(90(\.0+)?|[1-8]?[0-9](\.[0-9]+)?)"
_LONGITUDE = r"-?(180(\.0+)?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]+)?)"
# A NUL is refused before any filter is read (web.views.errors); the document says so too.
_NO_NUL = r"^[^\x00]*$"


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
    reporting: bool | None = None
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
            "reporting": self.reporting,
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
            "reporting": None if self.reporting is None else ("yes" if self.reporting else "no"),
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


def _search(text: str) -> str:
    if len(text) > MAX_SEARCH:
        raise BadFilter(f"q: is longer than {MAX_SEARCH} characters")
    return text


def _term(category: str, value: str) -> str:
    if vocab.term(category, value) is None:
        hints = vocab.close_terms(category, value)
        hint = f"; did you mean {', '.join(hints)}?" if hints else ""
        raise BadFilter(
            f"{category}: {value[:60]!r} is not a DTPR {category.replace('_', ' ')}{hint}"
        )
    return value


def _term_ids(category: str) -> list[str]:
    return [term.id for term in vocab.terms(category)]


def _personal(text: str) -> bool:
    if text not in PERSONAL_CHOICES:
        raise BadFilter(f"personal: {text[:20]!r} must be yes or no")
    return PERSONAL_CHOICES[text]


def _reporting(text: str) -> bool:
    if text not in REPORTING_CHOICES:
        raise BadFilter(f"reporting: {text[:20]!r} must be yes or no")
    return REPORTING_CHOICES[text]


def _organisation(text: str) -> str:
    """Any slug here; `read_filters` checks it against the register's organisations."""
    return text


def _status(text: str) -> str:
    if text not in STATUSES:
        raise BadFilter(f"status: {text[:20]!r} must be one of {', '.join(STATUSES)}")
    return text


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
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise BadFilter(
            f"bbox: {text[:60]!r} must be west,south,east,north in degrees, e.g. {BBOX_EXAMPLE}"
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


def _near(text: str) -> tuple[float, float]:
    """The point of a "near me" search, checked."""
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise BadFilter(
            f"near: {text[:40]!r} must be latitude,longitude in degrees, e.g. {NEAR_EXAMPLE}"
        ) from None
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise BadFilter(f"near: latitude {lat:g} is out of range (-90 to 90)")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise BadFilter(f"near: longitude {lon:g} is out of range (-180 to 180)")
    return lat, lon


def _radius(text: str) -> float:
    """The radius of a "near me" search, checked."""
    try:
        metres = float(text)
    except ValueError:
        raise BadFilter(f"radius: {text[:20]!r} must be a number of metres") from None
    if not (math.isfinite(metres) and metres > 0):
        raise BadFilter("radius: must be a number of metres above 0")
    if metres > MAX_RADIUS:
        raise BadFilter(f"radius: {metres:g} m is too large; the largest is {MAX_RADIUS:g} m")
    return metres


@dataclass(frozen=True)
class Filter:
    """One filter: how its text is read, and how API v1's OpenAPI document describes it.

    `read` takes the text (neither empty nor with spaces around) to the value `Filters` holds,
    or raises BadFilter; `schema` is the JSON Schema (OpenAPI 3.0) of the texts it accepts,
    limits and choices included, so the document states the same rules.
    """

    name: str
    read: Callable[[str], Any]
    description: str
    example: str | int | float
    schema: Mapping[str, Any]


# Each name is a field of `Filters`; the order is the one the unknown-filter error lists.
FILTERS = (
    Filter(
        "q",
        _search,
        "Text to find in a name, place, id, description or organisation.",
        "Camden",
        {"type": "string", "maxLength": MAX_SEARCH, "pattern": _NO_NUL},
    ),
    Filter(
        "purpose",
        partial(_term, "purpose"),
        "A DTPR purpose id (see /api/v1/vocabularies).",
        "health",
        {"type": "string", "enum": _term_ids("purpose")},
    ),
    Filter(
        "technology",
        partial(_term, "technology"),
        "A DTPR technology id.",
        "air_quality",
        {"type": "string", "enum": _term_ids("technology")},
    ),
    Filter(
        "personal",
        _personal,
        "Whether it collects personal data.",
        "yes",
        {"type": "string", "enum": list(PERSONAL_CHOICES)},
    ),
    Filter(
        "organisation",
        _organisation,
        "An organisation's slug (the document lists the register's own).",
        "camden",
        {"type": "string", "pattern": SLUG.pattern},
    ),
    Filter(
        "status",
        _status,
        "The device's status.",
        "active",
        {"type": "string", "enum": list(STATUSES)},
    ),
    Filter(
        "reporting",
        _reporting,
        "Whether an active device that declares how often it reports is doing so: `no`, not "
        "heard from for several of its intervals (marked by the mark_silent job); `yes`, heard "
        "from in time. Devices that declare no interval, or are not active, match neither.",
        "no",
        {"type": "string", "enum": list(REPORTING_CHOICES)},
    ),
    Filter(
        "near",
        _near,
        "latitude,longitude in WGS84 degrees: only devices within `radius`, nearest first.",
        NEAR_EXAMPLE,
        {"type": "string", "pattern": f"^{_LATITUDE},{_LONGITUDE}$"},
    ),
    Filter(
        "radius",
        _radius,
        f"Metres from `near` (default {DEFAULT_RADIUS:g}, at most {MAX_RADIUS:g}); only with "
        "`near`.",
        DEFAULT_RADIUS,
        {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": MAX_RADIUS},
    ),
    Filter(
        "bbox",
        _bbox,
        "west,south,east,north in WGS84 degrees (south not above north, west not east of "
        "east): only devices inside the box.",
        BBOX_EXAMPLE,
        {"type": "string", "pattern": f"^{_LONGITUDE},{_LATITUDE},{_LONGITUDE},{_LATITUDE}$"},
    ),
    Filter(
        "page",
        partial(_whole_number, name="page", lowest=1, highest=MAX_PAGE),
        "From 1.",
        1,
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    ),
    Filter(
        "per_page",
        partial(_whole_number, name="per_page", lowest=1, highest=MAX_PAGE_SIZE),
        f"Devices a page (default {PAGE_SIZE}).",
        PAGE_SIZE,
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
    ),
)
FILTER_NAMES = tuple(found.name for found in FILTERS)


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
    texts = {name: value.strip() for name, value in args.items() if value.strip()}
    if "radius" in texts and "near" not in texts:
        raise BadFilter("radius: only applies with near=latitude,longitude")
    values = {found.name: found.read(texts[found.name]) for found in FILTERS if found.name in texts}
    organisation = values.get("organisation")
    if organisation is not None and organisation not in organisations:
        raise BadFilter(f"organisation: no organisation {organisation[:60]!r} in the register")
    return Filters(**values)
