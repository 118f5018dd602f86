"""The whole register to download: `/register.json`, `/register.geojson` and `/register.csv`.

The same files as `lamplighter devices export` (`register.exports` builds both; `lamplighter
devices import` takes them back unchanged), with a strong ETag and Last-Modified (the register's
newest change), so clients and caches can ask "has it changed?" and get a 304 that costs the
server nothing.

Building the GeoJSON of 100,000 devices takes seconds; reading the register's version takes
milliseconds. The validators come from the version alone, so a conditional request is answered
without building anything, and each process keeps the body it built for the current version, so
a body is built again only when the register has changed. Version and body are read from one
snapshot, so a body always matches its ETag.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime

from flask import Blueprint, current_app, request
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response

from register import exports
from register.platform import db
from register.queries import Conn
from web import database, queries

blueprint = Blueprint("exports", __name__)
EXTENSION = "lamplighter.register_downloads"
MEDIA_TYPES = {"json": "application/json", "geojson": "application/geo+json", "csv": "text/csv"}
# Long enough that a busy page of links does not rebuild anything, short enough that a change
# reaches downloaders within minutes; caches revalidate with the ETag after that.
MAX_AGE = 300


@dataclass(frozen=True)
class Version:
    """What identifies one state of the register; see `queries.get_register_version`."""

    events: int
    newest_event: int
    changed_at: datetime | None

    def etag(self, fmt: str) -> str:
        # The layout too: a new encoding changes the bytes of the same register.
        key = f"{exports.LAYOUT}:{fmt}:{self.events}:{self.newest_event}:{self.changed_at}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass
class _Bodies:
    """The process's kept bodies, one a format, each with the version it was built from."""

    # One lock a format: building one format never holds up a download of another.
    locks: dict[str, threading.Lock] = field(
        default_factory=lambda: {fmt: threading.Lock() for fmt in exports.FORMATS}
    )
    kept: dict[str, tuple[Version, bytes]] = field(default_factory=dict)


blueprint.record_once(lambda state: state.app.extensions.setdefault(EXTENSION, _Bodies()))


def current_version(conn: Conn) -> Version:
    """The register's version (read in the snapshot that the body is then read in)."""
    return Version(*queries.get_register_version(conn))


def body(conn: Conn, fmt: str, version: Version) -> bytes:
    """The file in `fmt` of the register at `version` (read by `current_version` on `conn`):
    the kept one, or built now and kept in place of the format's previous body."""
    bodies: _Bodies = current_app.extensions[EXTENSION]
    kept = bodies.kept.get(fmt)
    if kept is not None and kept[0] == version:
        return kept[1]
    if kept is not None and kept[0].events > version.events:
        # This request's snapshot is older than the kept body: answer it, keep the newer.
        return exports.build(conn, fmt)
    # One build a format at a time: requests arriving meanwhile wait for it rather than build
    # it again.
    with bodies.locks[fmt]:
        kept = bodies.kept.get(fmt)
        if kept is not None and kept[0] == version:
            return kept[1]
        if kept is not None and kept[0].events > version.events:
            return exports.build(conn, fmt)
        bodies.kept.pop(fmt, None)  # let the old body go before the new one is made
        built = exports.build(conn, fmt)
        bodies.kept[fmt] = (version, built)
        return built


def _download(fmt: str) -> Response:
    with database.connection() as conn, db.snapshot(conn, read_only=True):
        version = current_version(conn)
        response = Response(mimetype=MEDIA_TYPES[fmt])
        response.set_etag(version.etag(fmt))
        if version.changed_at is not None:  # None would read as "now"
            response.last_modified = version.changed_at
        response.cache_control.public = True
        response.cache_control.max_age = MAX_AGE
        if not is_resource_modified(
            request.environ, etag=version.etag(fmt), last_modified=version.changed_at
        ):
            response.status_code = 304
            return response
        response.set_data(body(conn, fmt, version))
    response.headers["Content-Disposition"] = f'attachment; filename="lamplighter-register.{fmt}"'
    return response


@blueprint.get("/register.json")
def register_json() -> Response:
    return _download("json")


@blueprint.get("/register.geojson")
def register_geojson() -> Response:
    return _download("geojson")


@blueprint.get("/register.csv")
def register_csv() -> Response:
    return _download("csv")
