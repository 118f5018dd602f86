"""The whole register as a download: its validators (ETag, Last-Modified) and its body, built
once per register version and kept in the process.

Building the GeoJSON of 100,000 devices takes seconds; reading the register's version takes
milliseconds. The ETag and Last-Modified come from the version alone, so a conditional request
is answered without building anything, and a body is built again only when the register has
changed. Version and body are read from one snapshot, so a body always matches its ETag.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask, current_app

from register import export_rows, import_export
from register.queries import Conn
from web import queries

EXTENSION = "lamplighter.register_export"
MEDIA_TYPES = {"json": "application/json", "geojson": "application/geo+json", "csv": "text/csv"}
# Bump when the export's bytes change for the same register (a new field, another layout), so
# clients holding the old ETag get the new body.
LAYOUT = 1


@dataclass(frozen=True)
class Version:
    """What identifies one state of the register; see `queries.get_register_version`."""

    events: int
    newest_event: int
    changed_at: datetime | None

    def etag(self, fmt: str) -> str:
        layouts = f"{LAYOUT}:{export_rows.LAYOUT}"
        key = f"{layouts}:{fmt}:{self.events}:{self.newest_event}:{self.changed_at}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass
class _Cache:
    # One lock a format: building one format never holds up a download of another.
    locks: dict[str, threading.Lock] = field(
        default_factory=lambda: {fmt: threading.Lock() for fmt in export_rows.FORMATS}
    )
    bodies: dict[str, tuple[Version, bytes]] = field(default_factory=dict)


def init_app(app: Flask) -> None:
    """Give the app its (empty) cache of export bodies."""
    app.extensions[EXTENSION] = _Cache()


def current_version(conn: Conn) -> Version:
    """The register's version, in a transaction that then reads the same snapshot throughout."""
    queries.read_one_snapshot(conn)
    return Version(*queries.get_register_version(conn))


def body(conn: Conn, fmt: str, version: Version) -> bytes:
    """The export in `fmt` of the register at `version` (read by `current_version` on `conn`):
    the kept one, or built now and kept in place of the format's previous body."""
    cache: _Cache = current_app.extensions[EXTENSION]
    kept = cache.bodies.get(fmt)
    if kept is not None and kept[0] == version:
        return kept[1]
    if kept is not None and kept[0].events > version.events:
        # This request's snapshot is older than the kept body: answer it, keep the newer.
        return import_export.export_bytes(conn, fmt)
    # One build a format at a time: requests arriving meanwhile wait for it rather than build
    # it again.
    with cache.locks[fmt]:
        kept = cache.bodies.get(fmt)
        if kept is not None and kept[0] == version:
            return kept[1]
        if kept is not None and kept[0].events > version.events:
            return import_export.export_bytes(conn, fmt)
        cache.bodies.pop(fmt, None)  # let the old body go before the new one is made
        built = import_export.export_bytes(conn, fmt)
        cache.bodies[fmt] = (version, built)
        return built
