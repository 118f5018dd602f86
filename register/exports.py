"""The register's export files (`lamplighter devices export`, `/register.json|.geojson|.csv`):
each device's entry encoded in each format, stored next to it, and joined into a whole file.

Each device's rows (table `device_exports`, migration 0007) are written by `store_rows` in the
same transaction as every change to the device (`register.devices` calls it). `build` joins the
stored rows in public-id order; a row that is missing or outdated (of another `LAYOUT`, or older
than its device: after a bulk load, or a change of encoding) is encoded on the fly, so a file is
always right. `store_missing_rows` stores such rows for next time; `lamplighter db upgrade` and
`up` call it after migrating.

The files are byte for byte what encoding the whole list at once gives (a test holds them to it):
  - JSON: `{"format": "lamplighter.devices/1", "devices": [entry, ...]}`, indented by 2;
  - GeoJSON: a FeatureCollection of Points, compact, coordinates to 7 decimals (about 1 cm);
  - CSV: one row per declared metric (one row for a device without metrics), device fields
    repeated, metric fields in `metric_*` columns, lists `;`-separated.

Entries are read without marshmallow's per-field dump (0.1 ms a device, 10 s for 100,000): the
queries read each entry straight into the schema's field order, and a dump compiled once from
the schema converts only what needs converting (dates, retention periods, nested metrics), as
the fields' own `_serialize` would. A field kind it does not know is an error when compiling.
"""

from __future__ import annotations

import csv
import gc
import io
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import orjson
import psycopg
from marshmallow import Schema, fields

from register import periods
from register.platform import db
from register.queries import Conn, registry
from register.queries import exports as queries
from register.schemas import DeviceSchema, MetricSchema, Retention

log = logging.getLogger(__name__)

# The version of the encoding below: change it whenever the files' bytes would change for the
# same register. Stored rows of another layout are then encoded again, and downloads get a new
# ETag.
LAYOUT = 2
FORMATS = ("csv", "geojson", "json")
# GeoJSON's coordinates are rounded to 7 decimals, about 1 cm.
COORDINATE_DECIMALS = 7
JSON_FORMAT_TAG = "lamplighter.devices/1"
DEVICE_COLUMNS = ("organisation", *registry.DEVICE_FIELDS)
METRIC_COLUMNS = tuple(f"metric_{f}" for f in registry.METRIC_FIELDS)
CSV_HEADER = ",".join((*DEVICE_COLUMNS, *METRIC_COLUMNS)) + "\n"
_JSON_HEAD = '{\n  "format": "' + JSON_FORMAT_TAG + '",\n  "devices": ['
_ENTRY_INDENT = "    "  # an entry sits two levels deep in the JSON document
STORE_CHUNK = 5_000  # devices a statement when many rows are stored at once

Dump = Callable[[dict[str, Any]], dict[str, Any]]
# Fields whose dump of a value of the database's type is the value itself.
AS_THEY_ARE = (fields.String, fields.Boolean, fields.Float)


# --- the whole file --------------------------------------------------------------------------


def build(conn: Conn, fmt: str) -> bytes:
    """The whole register's devices in one of FORMATS, as UTF-8: the stored rows joined, with
    any missing or outdated row encoded now (not stored: see `store_missing_rows`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt}; use one of {', '.join(FORMATS)}")
    stored = queries.list_export_texts(conn, fmt, LAYOUT)
    missing = [device_id for device_id, text in stored if text is None]
    encoded: dict[int, str] = {}
    if missing:
        encode = ENCODERS[fmt]
        with _collector_paused():
            encoded = {i: encode(entry) for i, entry in entries_of(conn, missing)}
    parts = [encoded[device_id] if text is None else text for device_id, text in stored]
    return document(fmt, parts)


def document(fmt: str, parts: Sequence[str]) -> bytes:
    """The whole file in `fmt` from its devices' encoded parts, in order, as UTF-8."""
    if fmt == "json":
        devices = "\n" + ",\n".join(parts) + "\n  ]" if parts else "]"
        return (_JSON_HEAD + devices + "\n}\n").encode()
    if fmt == "geojson":
        return ('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}\n").encode()
    if fmt == "csv":
        return (CSV_HEADER + "".join(parts)).encode()
    raise ValueError(f"unknown format {fmt}; use one of {', '.join(FORMATS)}")


# --- stored rows -----------------------------------------------------------------------------


def store_rows(conn: Conn, device_ids: Sequence[int], *, replace_current: bool = True) -> int:
    """Encode and store the rows of these devices, in the caller's transaction; how many. Unless
    `replace_current`, a row already current is kept (a backfill must never overwrite what a
    concurrent change just wrote)."""
    stored = 0
    chunk: list[tuple[int, str, str, str]] = []
    with _collector_paused():
        for device_id, entry in entries_of(conn, device_ids):
            chunk.append((device_id, json_entry(entry), feature(entry), csv_rows(entry)))
            if len(chunk) == STORE_CHUNK:
                queries.upsert_export_rows(conn, LAYOUT, chunk, replace_current=replace_current)
                stored, chunk = stored + len(chunk), []
        if chunk:
            queries.upsert_export_rows(conn, LAYOUT, chunk, replace_current=replace_current)
    return stored + len(chunk)


def store_missing_rows(conn: Conn) -> int:
    """Store the rows that are missing or outdated, in a transaction of its own (call it outside
    one) that reads one snapshot, so each row matches its device's `updated_at`; how many. A
    device changed meanwhile makes it store none (logged): exports encode them on the fly, and
    the next run stores them."""
    try:
        with db.snapshot(conn):
            missing = queries.list_devices_without_export(conn, LAYOUT)
            stored = store_rows(conn, missing, replace_current=False) if missing else 0
    except psycopg.errors.SerializationFailure:
        log.warning("the register changed while its export rows were stored; try again")
        return 0
    return stored


# --- encoding one entry ----------------------------------------------------------------------


def json_entry(entry: dict[str, Any]) -> str:
    """The entry as the JSON document holds it: indented by 2, two levels deep."""
    text = orjson.dumps(entry, option=orjson.OPT_INDENT_2).decode()
    return _ENTRY_INDENT + text.replace("\n", "\n" + _ENTRY_INDENT)


def geojson_feature(record: dict[str, Any]) -> dict[str, Any]:
    """A device's record (an entry, or a list's summary) as a GeoJSON Feature: its id, its
    position the geometry (to 7 decimals, about 1 cm), the rest its properties. Every GeoJSON
    that Lamplighter serves is made here."""
    properties = {k: v for k, v in record.items() if k not in ("latitude", "longitude")}
    point = {
        "type": "Point",
        # GeoJSON (RFC 7946) positions are longitude, latitude.
        "coordinates": [
            round(record["longitude"], COORDINATE_DECIMALS),
            round(record["latitude"], COORDINATE_DECIMALS),
        ],
    }
    return {
        "type": "Feature",
        "id": record["public_id"],
        "geometry": point,
        "properties": properties,
    }


def feature(entry: dict[str, Any]) -> str:
    """The entry as the text of a GeoJSON Feature."""
    return orjson.dumps(geojson_feature(entry)).decode()


def cell(value: Any) -> str:
    """A value as a CSV cell: lists `;`-separated, booleans in lower case, None empty."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def csv_rows(entry: dict[str, Any]) -> str:
    """The entry's CSV lines, each ending in a newline."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    device_cells = [cell(entry[c]) for c in DEVICE_COLUMNS]
    if not entry["metrics"]:
        writer.writerow(device_cells + [""] * len(registry.METRIC_FIELDS))
    writer.writerows(
        device_cells + [cell(metric[f]) for f in registry.METRIC_FIELDS]
        for metric in entry["metrics"]
    )
    return out.getvalue()


ENCODERS = {"json": json_entry, "geojson": feature, "csv": csv_rows}


# --- entries in public form, fast ------------------------------------------------------------


def compile_dump_in_place(schema: Schema) -> Dump:
    """A function that turns a dict holding exactly the schema's fields, in its dump's order,
    with values as the database returns them, into what `schema.dump` gives, in place."""
    converters = tuple(
        (name, convert)
        for name, field in schema.dump_fields.items()
        if (convert := _converter(field)) is not None
    )

    def dump(entry: dict[str, Any]) -> dict[str, Any]:
        for name, convert in converters:
            value = entry[name]
            if value is not None:
                entry[name] = convert(value)
        return entry

    return dump


def _iso_date(value: date) -> str:
    return value.isoformat()


@lru_cache(maxsize=1024)
def _iso_period(value: timedelta) -> str:
    # A register holds a handful of distinct retention periods, so each is formatted once.
    return periods.to_iso(value)


def _converter(field: fields.Field[Any]) -> Callable[[Any], Any] | None:
    """How to dump a (non-null) value of this field; None when it dumps to itself."""
    if isinstance(field, fields.Nested | fields.List):
        return _container_converter(field)
    if isinstance(field, Retention):
        return _iso_period
    if isinstance(field, fields.Date) and field.format in (None, "iso"):
        return _iso_date
    if not any(
        isinstance(field, kind) and type(field)._serialize is kind._serialize
        for kind in AS_THEY_ARE
    ):
        raise TypeError(f"no compiled dump for {type(field).__name__} fields; add one")
    return None


def _container_converter(field: fields.Nested | fields.List[Any]) -> Callable[[Any], Any] | None:
    if isinstance(field, fields.Nested):
        nested = compile_dump_in_place(field.schema)
        if field.many or field.schema.many:
            return lambda values: [nested(v) for v in values]
        return nested
    inner = _converter(field.inner)
    if inner is None:
        return None
    return lambda values: [None if v is None else inner(v) for v in values]


_DUMP_IN_PLACE = compile_dump_in_place(DeviceSchema())
_DEVICE_ORDER = tuple(f for f in DeviceSchema().dump_fields if f != "metrics")
_METRIC_ORDER = tuple(MetricSchema().dump_fields)


def entries_of(
    conn: Conn, device_ids: Sequence[int] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """Every device (or those of `device_ids`) as (id, its entry in public form, as
    `DeviceSchema().dump` gives it), by public id."""
    metrics: dict[int, list[dict[str, Any]]] = {}
    for device_id, metric in registry.list_metric_entries(conn, _METRIC_ORDER, device_ids):
        metrics.setdefault(device_id, []).append(metric)
    entries = []
    for device_id, entry in registry.list_device_entries(conn, _DEVICE_ORDER, device_ids):
        entry["metrics"] = metrics.get(device_id, [])
        entries.append((device_id, _DUMP_IN_PLACE(entry)))
    return entries


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many entries are built: they are millions of
    small objects and no cycles, which it would otherwise scan again and again (a third of the
    time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
