"""Devices in the register: validate, create, update and decommission, each with its audit event.

Every change runs in the caller's transaction together with its audit event; the database's
triggers send `register_changed` notifications, so a running ingester reloads within seconds.
A decommissioned device is archived, never deleted: its page and history stay public.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson
import psycopg

from register import audit, exports, validation
from register.audit import Actor
from register.credentials import device_credentials
from register.queries import Conn
from register.queries import registry as queries
from register.schemas import DeviceSchema
from register.validation import FieldError, InvalidEntry

SCHEMA = DeviceSchema()
# The unique columns of `devices` (migration 0003), by their constraints' names.
UNIQUE_COLUMNS = {
    "devices_public_id_key": "public_id",
    "devices_dev_eui_key": "dev_eui",
    "devices_ttn_device_id_key": "ttn_device_id",
}


class UnknownDevice(LookupError):
    """No device has that public id."""


class StaleEntry(Exception):
    """The device changed since the version the change was based on; nothing was saved."""

    def __init__(self, public_id: str, current_version: str) -> None:
        self.public_id = public_id
        self.current_version = current_version
        super().__init__(
            f"device {public_id} has changed since the version this change was based on; "
            "read it again, and make your change to what it says now"
        )


@dataclass(frozen=True)
class SaveResult:
    public_id: str
    action: str  # create | update | unchanged
    changes: dict[str, Any]


def dumped(row: dict[str, Any], metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """A device row and its metrics in the schema's public form (the form exports use)."""
    entry = {field: row[field] for field in ("organisation", *queries.DEVICE_FIELDS)}
    entry["metrics"] = [{f: m[f] for f in queries.METRIC_FIELDS} for m in metrics]
    result: dict[str, Any] = SCHEMA.dump(entry)
    return result


def version_of(entry: dict[str, Any]) -> str:
    """A short fingerprint of a device's public entry: it changes whenever any field does (the
    API's ETag, and the version a console form was opened at)."""
    text = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()[:32]


def get_device(conn: Conn, public_id: str) -> dict[str, Any] | None:
    """One device in public form, or None."""
    row = queries.get_device_row(conn, public_id)
    if row is None:
        return None
    return dumped(row, queries.list_declared_metrics(conn, [row["id"]]))


def withdrawn_retention(conn: Conn, public_id: str) -> dict[str, timedelta]:
    """The retention each of the device's withdrawn metrics last declared, by key: what its
    stored readings are kept for (empty for an unknown device)."""
    return queries.list_withdrawn_retention(conn, public_id)


def list_devices(conn: Conn) -> list[dict[str, Any]]:
    """Every device in public form, by public id."""
    return [entry for _, entry in exports.entries_of(conn)]


def validate(
    conn: Conn,
    raw: Any,
    organisations: dict[str, dict[str, Any]] | None = None,
    external_ids: dict[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    """Load a device entry and check it against the register.

    Raises InvalidEntry listing every problem found.
    `organisations` (slug -> row) and `external_ids` (as `queries.list_external_ids` gives
    them) save queries per entry when many are checked at once.
    """
    data = validation.load(SCHEMA, raw)
    errors: list[FieldError] = []
    known = (
        organisations
        if organisations is not None
        else {o["slug"]: o for o in queries.list_organisations(conn)}
    )
    if data["organisation"] not in known:
        close = difflib.get_close_matches(data["organisation"], list(known), n=3, cutoff=0.6)
        hint = (
            f"; close matches: {', '.join(close)}"
            if close
            else "; add it first (lamplighter orgs add)"
        )
        errors.append(FieldError("organisation", f"no organisation '{data['organisation']}'{hint}"))
    for column in ("dev_eui", "ttn_device_id"):
        if data[column]:
            owner = (
                queries.find_external_id_owner(conn, column, data[column])
                if external_ids is None
                else external_ids.get((column, data[column]))
            )
            if owner is not None and owner != data["public_id"]:
                errors.append(
                    FieldError(column, f"{data[column]} already belongs to device {owner}")
                )
    if errors:
        raise InvalidEntry(errors)
    return data


def save(
    conn: Conn,
    data: dict[str, Any],
    actor: Actor,
    note: str = "",
    *,
    expected_version: str | None = None,
) -> SaveResult:
    """Create the device, or update it to match `data` (validated); write the audit event and
    the device's export rows. With `expected_version`, an existing device must still be at that
    version (checked under its row lock), or StaleEntry is raised and nothing changes."""
    organisation = queries.get_organisation(conn, data["organisation"])
    if organisation is None:
        raise InvalidEntry(
            [FieldError("organisation", f"no organisation '{data['organisation']}'")]
        )
    actor.check_may_write(organisation["id"], organisation["name"])
    current = queries.get_device_row(conn, data["public_id"], lock=True)
    after = SCHEMA.dump(data)
    if current is None:
        with _taken_is_invalid(conn, data):
            device_id = queries.insert_device(conn, organisation["id"], data)
        for metric in data["metrics"]:
            queries.upsert_metric(conn, device_id, metric)
        changes = audit.diff(None, after)
        audit.record(
            conn,
            actor,
            entity="device",
            entity_id=device_id,
            organisation_id=organisation["id"],
            action="create",
            changes=changes,
            note=note,
        )
        exports.store_rows(conn, [device_id])
        return SaveResult(data["public_id"], "create", changes)

    actor.check_may_write(current["organisation_id"], current["organisation"])
    before = dumped(current, queries.list_declared_metrics(conn, [current["id"]]))
    if expected_version is not None and version_of(before) != expected_version:
        raise StaleEntry(data["public_id"], version_of(before))
    changes = audit.diff(before, after)
    if not changes:
        return SaveResult(data["public_id"], "unchanged", {})
    if before["status"] == "decommissioned":
        raise InvalidEntry(
            [
                FieldError(
                    "status",
                    f"device {data['public_id']} is decommissioned; its entry is archived and "
                    "cannot change (register a new device instead)",
                )
            ]
        )
    _personal_stays_personal(conn, current["id"], data)
    with _taken_is_invalid(conn, data):
        queries.update_device(conn, current["id"], organisation["id"], data)
    kept = {m["key"] for m in data["metrics"]}
    queries.withdraw_metrics(
        conn, current["id"], [m["key"] for m in before["metrics"] if m["key"] not in kept]
    )
    changed = {name.split(".")[1] for name in changes if name.startswith("metrics.")}
    for metric in data["metrics"]:
        if metric["key"] in changed:
            queries.upsert_metric(conn, current["id"], metric)
    action = "decommission" if data["status"] == "decommissioned" else "update"
    audit.record(
        conn,
        actor,
        entity="device",
        entity_id=current["id"],
        organisation_id=organisation["id"],
        action=action,
        changes=changes,
        note=note,
    )
    if action == "decommission":
        # Off the broker too: a decommissioned device's credential ends with it.
        device_credentials.revoke_of_device(conn, current["id"], actor)
    exports.store_rows(conn, [current["id"]])
    return SaveResult(data["public_id"], action, changes)


@contextmanager
def _taken_is_invalid(conn: Conn, data: dict[str, Any]) -> Iterator[None]:
    """A write beaten to a unique value is InvalidEntry on its field, with nothing written.

    `validate` and `create_device` see the value free, but another transaction may take it
    before this one writes: its insert then waits on the unique index, and fails once the other
    commits. The savepoint keeps the caller's transaction usable."""
    try:
        with conn.transaction():
            yield
    except psycopg.errors.UniqueViolation as error:
        column = UNIQUE_COLUMNS.get(error.diag.constraint_name or "")
        if column is None:
            raise
        message = (
            f"{data[column]} is already registered"
            if column == "public_id"
            else f"{data[column]} already belongs to another device"
        )
        raise InvalidEntry([FieldError(column, message)]) from None


def _personal_stays_personal(conn: Conn, device_id: int, data: dict[str, Any]) -> None:
    """A metric key once declared personal data stays personal on its device: its stored
    readings are personal, and declaring the key otherwise would publish them as open data."""
    was_personal = queries.list_keys_ever_personal(conn, device_id)
    errors = [
        FieldError(
            f"metrics[{position}].personal",
            f"metric {metric['key']} was declared personal data, so its readings are; it stays "
            "personal (declare a new key for data that is not)",
        )
        for position, metric in enumerate(data["metrics"])
        if metric["key"] in was_personal and not metric["personal"]
    ]
    if errors:
        raise InvalidEntry(errors)


def create_device(conn: Conn, raw: Any, actor: Actor, note: str = "") -> SaveResult:
    """Validate and add a new device; InvalidEntry if the public id is taken."""
    data = validate(conn, raw)
    if queries.get_device_row(conn, data["public_id"]) is not None:
        raise InvalidEntry([FieldError("public_id", f"{data['public_id']} is already registered")])
    return save(conn, data, actor, note)


def update_device(
    conn: Conn,
    public_id: str,
    raw: Any,
    actor: Actor,
    note: str = "",
    *,
    expected_version: str | None = None,
) -> SaveResult:
    """Validate a device's new entry and apply it; UnknownDevice if it does not exist, StaleEntry
    if it is no longer at `expected_version` (when given)."""
    if queries.get_device_row(conn, public_id) is None:
        raise UnknownDevice(public_id)
    data = validate(conn, raw)
    if data["public_id"] != public_id:
        raise InvalidEntry([FieldError("public_id", "a device's public id cannot change")])
    return save(conn, data, actor, note, expected_version=expected_version)


def decommission_device(
    conn: Conn,
    public_id: str,
    actor: Actor,
    *,
    on: date | None = None,
    note: str = "",
    expected_version: str | None = None,
) -> SaveResult:
    """Archive a device: status decommissioned, with the date; it keeps its page and history."""
    entry = get_device(conn, public_id)
    if entry is None:
        raise UnknownDevice(public_id)
    if expected_version is not None and version_of(entry) != expected_version:
        raise StaleEntry(public_id, version_of(entry))
    if entry["status"] == "decommissioned":
        return SaveResult(public_id, "unchanged", {})
    entry["status"] = "decommissioned"
    entry["decommissioned_on"] = (on or date.today()).isoformat()
    return save(conn, validate(conn, entry), actor, note, expected_version=expected_version)
