"""The register's device files read and imported: the CSV, GeoJSON or JSON files that
`register.exports` writes, or files of the same shape.

All three formats carry the same fields with DTPR ids as they are, so importing an export gives
back the same register.
  - JSON: `{"format": "lamplighter.devices/1", "devices": [entry, ...]}` (a bare list also loads).
  - GeoJSON: a FeatureCollection of Points; each feature's properties are the entry without
    latitude and longitude, which are the geometry.
  - CSV: one row per declared metric (a device without metrics has one row), device fields
    repeated on each row and metric fields in `metric_*` columns; lists are `;`-separated.

An import is all or nothing: every entry is validated first, every problem is reported with its
line (CSV), device (JSON) or feature (GeoJSON) number and its field, and nothing is stored unless
every entry is good.

A download of the whole register holds every organisation's devices, so an engineer may import it
after changing their own: an entry of another organisation's device that would change nothing is
left alone (counted, never saved). One that would create or change anything is refused.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg

from register import audit, devices, exports
from register.audit import Actor, NotAllowed
from register.exports import DEVICE_COLUMNS, METRIC_COLUMNS
from register.queries import Conn
from register.queries import registry as queries
from register.validation import FieldError, InvalidEntry

FORMATS = exports.FORMATS
LIST_FIELDS = ("technology", "purposes", "data_types", "processing", "storage", "access")


class UnreadableFile(ValueError):
    """The file is not CSV, JSON or GeoJSON of the expected shape; nothing was checked further."""


@dataclass
class Entry:
    """One device read from a file, with where it came from, to report problems by place."""

    where: str
    raw: dict[str, Any]
    # CSV only: the line of each metric row, so a metric's problem points at its own line.
    metric_lines: list[int] = field(default_factory=list)

    def locate(self, error: FieldError) -> str:
        if self.metric_lines and error.field.startswith("metrics["):
            position = int(error.field[len("metrics[") : error.field.index("]")])
            rest = error.field[error.field.index("]") + 2 :]
            return f"line {self.metric_lines[position]}, metric_{rest or 'key'}: {error.message}"
        return f"{self.where}, {error.field or 'entry'}: {error.message}"


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Devices of organisations the actor may not write, which the file gives exactly as they
    # are: left alone, never saved.
    others_unchanged: list[str] = field(default_factory=list)
    # Devices of other organisations that the file would change (each also a problem), and
    # the organisations (slugs) whose devices it would create, change or take over.
    others_changed: list[str] = field(default_factory=list)
    others_written: list[str] = field(default_factory=list)
    # The version (`devices.version_of`) of the entry the file gives for each of those devices,
    # left alone or changed: so an outcome tells a file changed from a register changed.
    others_versions: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Each created or updated device's changes, as `register.audit.diff` gives them.
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Whether any entry writes to another organisation's devices than the actor's own.
    forbidden: bool = False
    # Whether a commit found another outcome than the one expected, and so stored nothing.
    outcome_changed: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def outcome(self) -> str:
        """A fingerprint of what the import does: which devices it creates, updates (field by
        field), leaves unchanged, and leaves alone as another organisation's (with the entry the
        file gives for each). The same file on the same register gives the same one."""
        left_alone = {
            public_id: self.others_versions[public_id] for public_id in self.others_unchanged
        }
        done = [self.created, self.updated, self.unchanged, self.changes, left_alone]
        return hashlib.sha256(orjson.dumps(done, option=orjson.OPT_SORT_KEYS)).hexdigest()


# --- reading files ---------------------------------------------------------------------------


def format_of(filename: str) -> str:
    """The format a file name implies by its extension."""
    for fmt in FORMATS:
        if filename.lower().endswith("." + fmt):
            return fmt
    raise UnreadableFile(f"cannot tell the format of {filename}; name it .csv, .json or .geojson")


def read(text: str, fmt: str) -> list[Entry]:
    """The device entries of a file, each with its place in the file; UnreadableFile, saying
    what and where, for anything that cannot be read (the CLI, the console and the API all
    read files here)."""
    refuse_nul(text)
    if fmt == "csv":
        return read_csv(text)
    document = parse_json(text)
    return read_geojson(document) if fmt == "geojson" else read_json(document)


def refuse_nul(text: str) -> None:
    """UnreadableFile when the text holds a NUL character: PostgreSQL text cannot hold one."""
    found = text.find("\x00")
    if found >= 0:
        line = text.count("\n", 0, found) + 1
        raise UnreadableFile(f"line {line} holds a NUL character, which is never valid")


def parse_json(text: str) -> Any:
    """JSON text as Python values; UnreadableFile when it does not parse (orjson refuses nesting
    deeper than 1,024 and numbers past a double, where `json` recurses or runs into Python's
    4,300-digit limit), or when a string holds a NUL character (`\\u0000`)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise UnreadableFile(
            f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    if _holds_nul(value):
        raise UnreadableFile("a string holds a NUL character (\\u0000), which is never valid")
    return value


def _holds_nul(value: Any) -> bool:
    # A loop, not recursion: orjson allows nesting deeper than Python's recursion limit.
    waiting = [value]
    while waiting:
        item = waiting.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            waiting.extend(item.keys())
            waiting.extend(item.values())
        elif isinstance(item, list):
            waiting.extend(item)
    return False


def read_json(document: Any) -> list[Entry]:
    items = document.get("devices") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise UnreadableFile('expected a list of devices, or an object with a "devices" list')
    return [Entry(f"device {n}", item) for n, item in enumerate(items, start=1)]


def read_geojson(document: Any) -> list[Entry]:
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise UnreadableFile("expected a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise UnreadableFile('a FeatureCollection needs a "features" list')
    entries = []
    for n, feature in enumerate(features, start=1):
        where = f"feature {n}"
        properties = feature.get("properties") if isinstance(feature, dict) else None
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        raw = dict(properties) if isinstance(properties, dict) else {}
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if (
            not isinstance(geometry, dict)
            or geometry.get("type") != "Point"
            or not isinstance(coordinates, list)
            or len(coordinates) < 2
        ):
            # Left out on purpose: validation then reports latitude and longitude as required.
            entries.append(Entry(where, raw))
            continue
        raw["longitude"], raw["latitude"] = coordinates[0], coordinates[1]
        entries.append(Entry(where, raw))
    return entries


def read_csv(text: str) -> list[Entry]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        return _csv_entries(reader)
    except csv.Error as error:
        # A cell over the csv module's limit (131,072 characters), or a NUL character.
        line = reader.line_num + 1  # the line being read when it failed
        raise UnreadableFile(f"the CSV cannot be read at line {line}: {error}") from None


def _csv_entries(reader: csv.DictReader[str]) -> list[Entry]:
    if reader.fieldnames is None:
        raise UnreadableFile("the CSV file is empty")
    columns = [c.strip() for c in reader.fieldnames]
    unknown = [c for c in columns if c not in DEVICE_COLUMNS + METRIC_COLUMNS]
    if unknown:
        raise UnreadableFile(f"unknown CSV column(s): {', '.join(unknown)}")
    entries: dict[str, Entry] = {}
    for row in reader:
        line = reader.line_num
        cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        device = {c: cells[c] for c in DEVICE_COLUMNS if c in cells}
        for name in LIST_FIELDS:
            if name in device:
                device[name] = [t.strip() for t in device[name].split(";") if t.strip()]
        public_id = device.get("public_id", "")
        entry = entries.get(public_id) if public_id else None
        if entry is None:
            entry = Entry(f"line {line}", {**device, "metrics": []})
            entries[public_id or f"line {line}"] = entry
        elif {k: v for k, v in entry.raw.items() if k != "metrics"} != device:
            entry.raw.setdefault("_conflicts", []).append(line)
        metric = {f: cells.get(f"metric_{f}", "") for f in queries.METRIC_FIELDS}
        if any(metric.values()):
            entry.raw["metrics"].append(metric)
            entry.metric_lines.append(line)
    return list(entries.values())


# --- import ----------------------------------------------------------------------------------


def import_entries(
    conn: Conn,
    entries: list[Entry],
    actor: Actor,
    *,
    dry_run: bool,
    expected_outcome: str | None = None,
) -> ImportReport:
    """Validate every entry, then store all of them in one transaction, or none.

    An entry of another organisation's device that would change nothing is left alone (in
    `others_unchanged`). Any other entry the actor may not write (one that creates or changes
    another organisation's device, or takes over a device another organisation owns) is a
    problem of its own, and sets `forbidden`. With `expected_outcome` (a dry run's `outcome()`),
    the import is stored only if it does exactly that; otherwise it is rolled back and the
    report, with `outcome_changed` set, says what it would do now. That holds too when the file
    now changes a device of another organisation that the expected outcome left alone (that
    organisation changed it since): the report has its problem, and `outcome_changed` set."""
    report = ImportReport()
    valid = _checked(conn, entries, actor, report)
    if not report.problems:
        _store(conn, valid, actor, report, dry_run=dry_run, expected_outcome=expected_outcome)
    elif expected_outcome is not None and report.others_changed:
        report.outcome_changed = _changed_under_the_preview(
            conn, valid, actor, report, expected_outcome
        )
    return report


def _store(
    conn: Conn,
    valid: list[tuple[Entry, dict[str, Any]]],
    actor: Actor,
    report: ImportReport,
    *,
    dry_run: bool,
    expected_outcome: str | None = None,
) -> None:
    """Save every valid entry in one transaction, with what each did in the report; roll it
    back for a dry run or an outcome other than the one expected, or when one is refused."""
    current: Entry | None = None
    try:
        with conn.transaction():
            for current, data in valid:  # noqa: B007 - read by the except clause
                result = devices.save(conn, data, actor, note="import")
                {"create": report.created, "unchanged": report.unchanged}.get(
                    result.action, report.updated
                ).append(result.public_id)
                if result.changes:
                    report.changes[result.public_id] = result.changes
            if expected_outcome is not None and report.outcome() != expected_outcome:
                report.outcome_changed = True
            if dry_run or report.outcome_changed:
                raise psycopg.Rollback()
    except (InvalidEntry, NotAllowed) as refused:
        # Rolled back: report the entry that was refused, and that nothing was stored.
        errors = (
            refused.errors if isinstance(refused, InvalidEntry) else [FieldError("", str(refused))]
        )
        report.problems.extend(current.locate(e) if current else str(e) for e in errors)
        report.created, report.updated, report.unchanged = [], [], []
        report.changes = {}


def _changed_under_the_preview(
    conn: Conn,
    valid: list[tuple[Entry, dict[str, Any]]],
    actor: Actor,
    report: ImportReport,
    expected_outcome: str,
) -> bool:
    """Whether the file had the expected outcome when the other organisations' devices it now
    changes were as it gives them: the register changed since the preview (a stale commit),
    not a file that never could be imported (a 403). Found by a dry run of the entries the
    actor may write, with those devices counted as left alone."""
    then = ImportReport(
        others_unchanged=report.others_unchanged + report.others_changed,
        others_versions=report.others_versions,
    )
    _store(conn, valid, actor, then, dry_run=True)
    return then.ok and then.outcome() == expected_outcome


def _checked(
    conn: Conn, entries: list[Entry], actor: Actor, report: ImportReport
) -> list[tuple[Entry, dict[str, Any]]]:
    """Every entry validated, with each problem added to the report: invalid fields, rows of one
    device that disagree, an id given twice, and writes the actor may not make. Entries of other
    organisations' devices that change nothing are left out, and listed in the report."""
    organisations = {o["slug"]: o for o in queries.list_organisations(conn)}
    external_ids = queries.list_external_ids(conn)
    valid: list[tuple[Entry, dict[str, Any]]] = []
    first_place: dict[tuple[str, str], str] = {}
    for entry in entries:
        # A JSON file's entry may be no object at all: validation says so, by its place.
        conflicts = entry.raw.pop("_conflicts", []) if isinstance(entry.raw, dict) else []
        for line in conflicts:
            report.problems.append(
                f"line {line}, public_id: its device fields differ from {entry.where}, "
                "the same device's first row"
            )
        try:
            data = devices.validate(conn, entry.raw, organisations, external_ids)
        except InvalidEntry as invalid:
            report.problems.extend(entry.locate(error) for error in invalid.errors)
            continue
        for column in ("public_id", "dev_eui", "ttn_device_id"):
            value = data[column]
            if value and (column, value) in first_place:
                earlier = first_place[(column, value)]
                report.problems.append(
                    f"{entry.where}, {column}: {value} also appears at {earlier}"
                )
            elif value:
                first_place[(column, value)] = entry.where
        valid.append((entry, data))
    return _others_left_alone(conn, actor, valid, organisations, report)


def _others_left_alone(
    conn: Conn,
    actor: Actor,
    valid: list[tuple[Entry, dict[str, Any]]],
    organisations: dict[str, dict[str, Any]],
    report: ImportReport,
) -> list[tuple[Entry, dict[str, Any]]]:
    """The entries to store: the valid ones without those the actor may not write. Of those, an
    entry equal to its device's current public entry (as `devices.save` compares them) is left
    alone; any other is a problem, and sets `forbidden`. The devices are read in two queries,
    however many there are."""
    owners = queries.list_device_owners(conn, [data["public_id"] for _, data in valid])
    refusals = [
        (entry, data, _writes_refused(actor, data, organisations, owners)) for entry, data in valid
    ]
    current = dict(
        exports.entries_of(
            conn,
            [
                owners[data["public_id"]]["id"]
                for _, data, refused in refusals
                if refused and data["public_id"] in owners
            ],
        )
    )
    kept = []
    for entry, data, refused in refusals:
        owner = owners.get(data["public_id"])
        if not refused:
            kept.append((entry, data))
            continue
        given = devices.SCHEMA.dump(data)
        # Their device, still theirs in the file: left alone if the file gives it as it is.
        theirs = owner is not None and owner["organisation"] == data["organisation"]
        if theirs:
            report.others_versions[data["public_id"]] = devices.version_of(given)
        changed = (
            audit.diff(_as_files_give_it(current[owner["id"]]), _as_files_give_it(given))
            if owner is not None
            else {}
        )
        if owner is not None and not changed:
            report.others_unchanged.append(data["public_id"])
        else:
            if theirs:
                report.others_changed.append(data["public_id"])
            for slug in [data["organisation"], *([owner["organisation"]] if owner else [])]:
                foreign = organisations[slug]["id"] != actor.organisation_id
                if foreign and slug not in report.others_written:
                    report.others_written.append(slug)
            why = (
                refused
                if owner is None or not theirs
                else [_changes_refused(data["public_id"], owner, changed)]
            )
            report.problems.extend(entry.locate(error) for error in why)
            report.forbidden = True
    return kept


def _as_files_give_it(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as any of the register's files gives it back: coordinates to GeoJSON's
    `exports.COORDINATE_DECIMALS`, and text without surrounding white space (a CSV cell's). A
    downloaded register compares equal to the register this way, whatever its format."""

    def trimmed(value: Any) -> Any:
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, list):
            return [trimmed(item) for item in value]
        if isinstance(value, dict):
            return {key: trimmed(item) for key, item in value.items()}
        return value

    given = trimmed(entry)
    for axis in ("latitude", "longitude"):
        if isinstance(given.get(axis), float):
            given[axis] = round(given[axis], exports.COORDINATE_DECIMALS)
    return dict(given)


def _changes_refused(public_id: str, owner: dict[str, Any], changed: dict[str, Any]) -> FieldError:
    """The problem of an entry that changes another organisation's device, naming what it
    changes, at the first field it changes."""
    fields = list(dict.fromkeys(name.split(".")[0] for name in changed))
    return FieldError(
        fields[0],
        f"device {public_id} is {owner['organisation']}'s, and the file changes its "
        f"{', '.join(name.replace('_', ' ') for name in fields)}; you may only change your own "
        "organisation's devices (give the others as they are, or leave them out)",
    )


def _writes_refused(
    actor: Actor,
    data: dict[str, Any],
    organisations: dict[str, dict[str, Any]],
    owners: dict[str, dict[str, Any]],
) -> list[FieldError]:
    """Why the actor may not store this (valid) entry: it names another organisation, or its
    device belongs to one (`owners`: each existing device's id and organisation, by public id).
    Checked for every entry before anything is stored, so each such entry is reported, not only
    the first that `devices.save` would refuse."""
    refused = []
    named = organisations[data["organisation"]]
    try:
        actor.check_may_write(named["id"], named["name"])
    except NotAllowed as error:
        refused.append(FieldError("organisation", str(error)))
    owner = owners.get(data["public_id"])
    if owner is not None and owner["organisation"] != data["organisation"]:
        try:
            actor.check_may_write(owner["organisation_id"], owner["organisation"])
        except NotAllowed:
            refused.append(
                FieldError(
                    "public_id",
                    f"device {data['public_id']} belongs to another organisation "
                    f"({owner['organisation']}); you may only change your own organisation's",
                )
            )
    return refused
