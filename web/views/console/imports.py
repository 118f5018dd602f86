"""The console's bulk import: upload a device file, see what it would do, then commit exactly
that, all or nothing.

The preview is a dry run of `register.imports.import_entries` (rolled back), so it reports
exactly what the import does: every problem by its place, or each device created, each change
field by field, what stays the same, and how many of other organisations' devices, given as
they are, are left alone. Nothing is kept on the server between the preview and
the commit: the preview page carries the file itself (base64, in a hidden field, so a browser
cannot alter its line ends) and the fingerprint of the previewed outcome. The commit imports the
file again in one transaction and keeps it only if the outcome is that fingerprint; if the
register (or the file) changed meanwhile, it is rolled back and the new preview is shown. The
file needs no signature: whoever commits it could as well upload another, and every entry is
checked again, scoped to their organisation, when it is committed.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from flask import current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from register import devices, imports
from register.imports import ImportReport
from register.platform.config import Settings
from register.queries import Conn
from web import change_text, database, signed_in
from web.device_consequences import needing_confirmation
from web.views import errors
from web.views.console import blueprint

MAX_FILE_BYTES = 5 * 1024 * 1024
# A request's other fields and multipart framing, on top of the file.
FORM_MARGIN = 64 * 1024
FORMATS = {"": "From the file name", "csv": "CSV", "json": "JSON", "geojson": "GeoJSON"}
LABELS = {"file": "File", "format": "Format"}


class BadFile(Exception):
    """The upload cannot be imported at all; `field` is the form field it concerns."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field, self.status = field, status


@blueprint.before_app_request
def allow_import_files() -> None:
    """The import's two forms carry a file (up to MAX_FILE_BYTES), larger than other forms."""
    if request.endpoint == "console.import_preview":
        request.max_content_length = MAX_FILE_BYTES + FORM_MARGIN
    elif request.endpoint == "console.import_commit":
        # The file comes back in base64, a third larger.
        request.max_form_memory_size = MAX_FILE_BYTES * 4 // 3 + FORM_MARGIN
        request.max_content_length = request.max_form_memory_size + FORM_MARGIN


def _too_large() -> str:
    return (
        f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB, the most one import "
        "takes; split it into smaller files"
    )


@blueprint.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> tuple[Response | str, int]:
    """A request larger than the import takes, refused while its form was read (another console
    form that is too large gets the site's usual error page)."""
    if request.endpoint not in ("console.import_preview", "console.import_commit"):
        return errors.http_error(error)
    return _upload_page({"file": _too_large()}, ""), 413


@blueprint.get("/import")
@signed_in.required
def import_form() -> str:
    return _upload_page({}, "")


@blueprint.post("/import")
@signed_in.required
def import_preview() -> tuple[str, int]:
    chosen = request.form.get("format", "")
    try:
        name, text, fmt = _uploaded(chosen)
        entries = imports.read(text, fmt)
        if not entries:
            raise BadFile("file", "the file holds no devices")
    except BadFile as bad:
        return _upload_page({bad.field: str(bad)}, chosen), bad.status
    except imports.UnreadableFile as unreadable:
        return _upload_page({"file": str(unreadable)}, chosen), 400
    with database.connection() as conn, conn.transaction():
        report = imports.import_entries(conn, entries, signed_in.user().actor(), dry_run=True)
    return _preview(report, name, text, fmt)


@blueprint.post("/import/commit")
@signed_in.required
def import_commit() -> tuple[str, int]:
    name = request.form.get("name", "")
    fmt = request.form.get("format", "")
    try:
        text = base64.b64decode(request.form.get("file", ""), validate=True).decode()
        if fmt not in imports.FORMATS:
            raise ValueError(fmt)
        entries = imports.read(text, fmt)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        # UnreadableFile is a ValueError: a previewed file reads, so this one was altered.
        message = "the previewed file did not come back intact; upload it again"
        return _upload_page({"file": message}, ""), 400
    with database.connection() as conn, conn.transaction():
        report = imports.import_entries(
            conn,
            entries,
            signed_in.user().actor(),
            dry_run=False,
            expected_outcome=request.form.get("outcome", ""),
        )
    if report.ok and not report.outcome_changed:
        return render_template("console/import_done.html", name=name, report=report), 200
    return _preview(report, name, text, fmt)


def _uploaded(chosen: str) -> tuple[str, str, str]:
    """The uploaded file's name, text and format; BadFile when there is none to read."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadFile("file", "choose a file to import (CSV, JSON or GeoJSON)")
    if chosen not in FORMATS:
        raise BadFile("format", "choose CSV, JSON, GeoJSON, or the format the file name gives")
    content = upload.stream.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise BadFile("file", _too_large(), 413)
    if not content.strip():
        raise BadFile("file", f"{upload.filename} is empty")
    try:
        text = content.decode()
    except UnicodeDecodeError:
        raise BadFile("file", f"{upload.filename} is not text in UTF-8") from None
    try:
        fmt = chosen or imports.format_of(upload.filename)
    except imports.UnreadableFile as unknown:
        raise BadFile("format", f"{unknown}, or choose its format here") from None
    return upload.filename, text, fmt


def _upload_page(errors: dict[str, str], chosen: str) -> str:
    return render_template(
        "console/import.html",
        errors=errors,
        labels=LABELS,
        formats=list(FORMATS.items()),
        chosen=chosen,
        max_megabytes=MAX_FILE_BYTES // (1024 * 1024),
    )


def _withdrawn_if_declared_again(
    conn: Conn, public_id: str, changes: dict[str, Any]
) -> dict[str, timedelta]:
    """The device's withdrawn metrics' retention, read only when the file declares a metric
    anew (which may be one withdrawn earlier)."""
    added = any(
        name.count(".") == 1 and name.startswith("metrics.") and change["before"] is None
        for name, change in changes.items()
    )
    return devices.withdrawn_retention(conn, public_id) if added else {}


def _preview(report: ImportReport, name: str, text: str, fmt: str) -> tuple[str, int]:
    """The preview page, and its status: 409 when a commit found the register changed (even
    when another organisation's device left alone in the preview would now change), else 403
    when an entry writes to another organisation, 422 for any other problem, else 200."""
    status = 200
    if report.outcome_changed:
        status = 409
    elif report.forbidden:
        status = 403
    elif report.problems:
        status = 422
    changes = {
        public_id: change_text.readable(report.changes[public_id]) for public_id in report.updated
    }
    settings: Settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    interval = timedelta(seconds=settings.jobs.retention_interval)
    with database.connection() as conn:
        consequences = {
            public_id: said
            for public_id in report.updated
            if (
                said := needing_confirmation(
                    report.changes[public_id],
                    interval,
                    _withdrawn_if_declared_again(conn, public_id, report.changes[public_id]),
                )
            )
        }
    page = render_template(
        "console/import_preview.html",
        report=report,
        name=name,
        fmt=fmt,
        changes=changes,
        consequences=consequences,
        created={
            public_id: change_text.readable(report.changes.get(public_id, {}))
            for public_id in report.created
        },
        file=base64.b64encode(text.encode()).decode(),
        outcome=report.outcome(),
    )
    return page, status
