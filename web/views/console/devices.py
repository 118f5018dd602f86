"""The console's device pages: an organisation's devices, and adding, editing and
decommissioning one.

Every change goes through `register.devices` with the signed-in person as its actor, through
the same schema as the import and the API, so it is checked, audited and scoped to the person's
organisation there. A form opened at one version of a device saves only over that version.
Withdrawing a metric or shortening a retention is shown in words and saved once confirmed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from register import audit, devices, periods
from register.audit import NotAllowed
from register.credentials import device_credentials
from register.platform.config import Settings
from register.validation import FieldError, InvalidEntry
from web import database, device_form, queries, signed_in
from web.device_consequences import needing_confirmation
from web.device_form import DeviceForm, ShownError
from web.views.console import blueprint, credentials

Page = str | tuple[str, int] | Response
STALE = (
    "This device was changed by someone else since you opened it, so nothing was saved. "
    "Open it again to see what it says now, then make your change to that."
)
# Buttons of the device form that show it again instead of saving.
ADD_METRIC = "add_metric"
GO_BACK = "go_back"
CONFIRMED = "confirmed"
# Fields a confirmation page does not carry back: its own buttons and the form token.
NOT_CARRIED = {signed_in.FORM_FIELD, ADD_METRIC, GO_BACK, CONFIRMED}


@blueprint.get("/devices")
@signed_in.required
def devices_list() -> str:
    user = signed_in.user()
    with database.connection() as conn:
        listed = queries.list_organisation_devices(conn, user.organisation)
        credentialed = device_credentials.with_working_credential(
            conn, [d["public_id"] for d in listed]
        )
    return render_template(
        "console/devices.html",
        user=user,
        devices=listed,
        credentialed=credentialed,
        saved=request.args.get("saved", ""),
        done=request.args.get("done", ""),
    )


@blueprint.get("/devices/new")
@signed_in.required
def device_new() -> str:
    return _form_page(DeviceForm.blank(), None)[0]


@blueprint.post("/devices/new")
@signed_in.required
def device_create() -> Page:
    user = signed_in.user()
    form = _sent_form()
    _refuse_other_organisation()
    if ADD_METRIC in request.form:
        return _form_page(form.with_another_row(), None, added_row=True)
    refused = form.decommissions(None)
    if refused is not None:
        return _form_page(form, None, errors=[refused], status=400)
    try:
        with database.connection() as conn, conn.transaction():
            result = devices.create_device(conn, form.entry(user.organisation), user.actor())
    except InvalidEntry as error:
        return _form_page(form, None, errors=error.errors, status=400)
    except NotAllowed as error:
        abort(403, description=str(error))
    return _saved(result.public_id, "added")


@blueprint.get("/devices/<public_id>/edit")
@signed_in.required
def device_edit(public_id: str) -> str:
    entry = _own_device(public_id)
    return _form_page(DeviceForm.of_entry(entry), entry)[0]


@blueprint.post("/devices/<public_id>/edit")
@signed_in.required
def device_save(public_id: str) -> Page:
    user = signed_in.user()
    entry = _own_device(public_id)
    form = _sent_form()
    _refuse_other_organisation()
    version = request.form.get("version", "")
    if ADD_METRIC in request.form or GO_BACK in request.form:
        added = ADD_METRIC in request.form
        shown = form.with_another_row() if added else form
        return _form_page(shown, entry, version=version, added_row=added)
    cannot = _cannot_save(form, entry, version)
    if cannot is not None:
        return cannot
    raw = form.entry(user.organisation, public_id)
    try:
        with database.connection() as conn, conn.transaction():
            data = devices.validate(conn, raw)
            consequences = needing_confirmation(
                audit.diff(entry, devices.SCHEMA.dump(data)),
                _retention_interval(),
                devices.withdrawn_retention(conn, public_id),
            )
            if consequences and CONFIRMED not in request.form:
                return _confirmation_page(entry, consequences)
            result = devices.update_device(
                conn, public_id, raw, user.actor(), expected_version=version
            )
    except InvalidEntry as error:
        return _form_page(form, entry, version=version, errors=error.errors, status=400)
    except devices.StaleEntry:
        return _form_page(form, entry, version=version, stale=True, status=409)
    except NotAllowed as error:
        abort(403, description=str(error))
    return _saved(public_id, "unchanged" if result.action == "unchanged" else "saved")


@blueprint.get("/devices/<public_id>/decommission")
@signed_in.required
def device_decommission(public_id: str) -> str:
    entry = _own_device(public_id)
    return _decommission_page(entry, date.today().isoformat(), devices.version_of(entry))[0]


@blueprint.post("/devices/<public_id>/decommission")
@signed_in.required
def device_decommission_post(public_id: str) -> Page:
    user = signed_in.user()
    entry = _own_device(public_id)
    typed = request.form.get("decommissioned_on", "").strip()
    version = request.form.get("version", "")
    try:
        on = date.fromisoformat(typed)
    except ValueError:
        problem = FieldError("decommissioned_on", "must be a date, such as 2026-11-29")
        return _decommission_page(entry, typed, version, errors=[problem], status=400)
    try:
        with database.connection() as conn, conn.transaction():
            result = devices.decommission_device(
                conn, public_id, user.actor(), on=on, expected_version=version
            )
    except InvalidEntry as error:
        return _decommission_page(entry, typed, version, errors=error.errors, status=400)
    except devices.StaleEntry:
        return _decommission_page(entry, typed, version, stale=True, status=409)
    except NotAllowed as error:
        abort(403, description=str(error))
    return _saved(public_id, "unchanged" if result.action == "unchanged" else "decommissioned")


def _cannot_save(form: DeviceForm, entry: dict[str, Any], version: str) -> Page | None:
    """The form again when it cannot be saved as it is: opened at an older version of the
    device (409), or setting a status that only the decommission page sets (400)."""
    if version != devices.version_of(entry):
        return _form_page(form, entry, version=version, stale=True, status=409)
    refused = form.decommissions(entry)
    if refused is not None:
        return _form_page(form, entry, version=version, errors=[refused], status=400)
    return None


def _own_device(public_id: str) -> dict[str, Any]:
    """The device's public entry: 404 if there is none, 403 if another organisation's."""
    with database.connection() as conn:
        entry = devices.get_device(conn, public_id)
    if entry is None:
        abort(404, description=f"there is no device {public_id} in the register")
    user = signed_in.user()
    if entry["organisation"] != user.organisation:
        abort(
            403,
            description=f"device {public_id} belongs to another organisation; you may only "
            f"change the devices of {user.organisation_name}",
        )
    return entry


def _refuse_other_organisation() -> None:
    """The organisation is always the person's own; a form that names another is refused."""
    named = request.form.get("organisation")
    user = signed_in.user()
    if named is not None and named != user.organisation:
        abort(
            403,
            description=f"you may only add and change the devices of {user.organisation_name}",
        )


def _sent_form() -> DeviceForm:
    try:
        return DeviceForm.of_request(request.form)
    except device_form.BadForm as error:
        abort(400, description=str(error))


def _retention_interval() -> timedelta:
    settings: Settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    return timedelta(seconds=settings.jobs.retention_interval)


def _saved(public_id: str, done: str) -> Response:
    return redirect(url_for("console.devices_list", saved=public_id, done=done))


def _form_page(
    form: DeviceForm,
    entry: dict[str, Any] | None,
    *,
    version: str | None = None,
    errors: list[FieldError] | None = None,
    stale: bool = False,
    status: int = 200,
    added_row: bool = False,
) -> tuple[str, int]:
    """The device form (a new device's when `entry` is None) with its errors by field, and the
    device's MQTT credential; after "Add another metric", the new row's first field has focus."""
    shown = device_form.shown_errors(form, errors or [], editing=entry is not None)
    if version is None and entry is not None:
        version = devices.version_of(entry)
    credential = credentials.state(entry["public_id"]) if entry is not None else None
    return _page(
        "console/device_form.html",
        shown,
        stale,
        status,
        form=form,
        entry=entry,
        version=version,
        spec=device_form,
        added_row=added_row,
        credential=credential,
        credential_done=request.args.get("credential", ""),
    )


def _page(
    template: str, shown: list[ShownError], stale: bool, status: int, **values: Any
) -> tuple[str, int]:
    """A form page with its errors in the summary and by their fields, and the message for a
    device changed since the form was opened."""
    page = render_template(
        template,
        errors=shown,
        field_errors=device_form.by_field(shown),
        stale=STALE if stale else None,
        **values,
    )
    return page, status


def _confirmation_page(entry: dict[str, Any], consequences: list[str]) -> str:
    carried = [
        (name, value) for name, value in request.form.items(multi=True) if name not in NOT_CARRIED
    ]
    return render_template(
        "console/device_confirm.html", entry=entry, consequences=consequences, carried=carried
    )


def _decommission_page(
    entry: dict[str, Any],
    typed: str,
    version: str,
    *,
    errors: list[FieldError] | None = None,
    stale: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    shown = [
        ShownError(
            "decommissioned_on" if e.field == "decommissioned_on" else None,
            f"Date: {e.message}" if e.field == "decommissioned_on" else str(e),
        )
        for e in errors or []
    ]
    return _page(
        "console/device_decommission.html",
        shown,
        stale,
        status,
        entry=entry,
        typed=typed,
        version=version,
        every=periods.describe(_retention_interval()),
        kept_for=[
            (m["key"], periods.describe(periods.parse(m["retention"]))) for m in entry["metrics"]
        ],
    )
