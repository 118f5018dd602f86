"""The whole register to download: `/register.json`, `/register.geojson` and `/register.csv`.

The same files as `lamplighter devices export` (DTPR ids; `lamplighter devices import` takes
them back unchanged), with a strong ETag and Last-Modified (the register's newest change), so
clients and caches can ask "has it changed?" and get a 304 that costs the server nothing.
"""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response

from web import database, register_export

blueprint = Blueprint("exports", __name__)
blueprint.record_once(lambda state: register_export.init_app(state.app))

# Long enough that a busy page of links does not rebuild anything, short enough that a change
# reaches downloaders within minutes; caches revalidate with the ETag after that.
MAX_AGE = 300


def _download(fmt: str) -> Response:
    with database.connection() as conn, conn.transaction():
        version = register_export.current_version(conn)
        response = Response(mimetype=register_export.MEDIA_TYPES[fmt])
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
        response.set_data(register_export.body(conn, fmt, version))
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
