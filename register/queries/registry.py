"""SQL for organisations, devices and their declared metrics: one function per statement."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from psycopg import Cursor
from psycopg.rows import RowMaker, dict_row

from register.queries import Conn, returned_id

ORGANISATION_FIELDS = (
    "slug",
    "name",
    "kind",
    "contact_email",
    "privacy_notice_url",
    "dpo_contact",
    "website",
)
DEVICE_FIELDS = (
    "public_id",
    "name",
    "description",
    "status",
    "latitude",
    "longitude",
    "place",
    "technology",
    "purposes",
    "data_types",
    "processing",
    "storage",
    "access",
    "legal_basis",
    "dpia_url",
    "installed_on",
    "decommissioned_on",
    "contact_email",
    "dev_eui",
    "ttn_device_id",
    "reporting_interval",
)
METRIC_FIELDS = ("key", "label", "unit", "value_kind", "personal", "retention", "open_data")


def list_organisations(conn: Conn) -> list[dict[str, Any]]:
    """Every organisation with its id, by name."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT id, {', '.join(ORGANISATION_FIELDS)} FROM organisations ORDER BY name"
        ).fetchall()


def get_organisation(conn: Conn, slug: str) -> dict[str, Any] | None:
    """One organisation by slug, with its id."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT id, {', '.join(ORGANISATION_FIELDS)} FROM organisations WHERE slug = %s",
            (slug,),
        ).fetchone()


def insert_organisation(conn: Conn, values: dict[str, Any]) -> int:
    """Create an organisation; return its id."""
    row = conn.execute(
        f"INSERT INTO organisations ({', '.join(ORGANISATION_FIELDS)})"
        f" VALUES ({', '.join(['%s'] * len(ORGANISATION_FIELDS))}) RETURNING id",
        [values[f] for f in ORGANISATION_FIELDS],
    ).fetchone()
    return returned_id(row)


def update_organisation(conn: Conn, organisation_id: int, values: dict[str, Any]) -> None:
    """Overwrite an organisation's fields."""
    assignments = ", ".join(f"{f} = %s" for f in ORGANISATION_FIELDS)
    conn.execute(
        f"UPDATE organisations SET {assignments}, updated_at = now() WHERE id = %s",
        [*(values[f] for f in ORGANISATION_FIELDS), organisation_id],
    )


def count_devices(conn: Conn) -> int:
    """How many devices the register holds, in any status."""
    row = conn.execute("SELECT count(*) FROM devices").fetchone()
    return int(row[0]) if row else 0


def get_device_row(conn: Conn, public_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    """One device's columns with its id and organisation slug (optionally locked for update)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT d.id, d.organisation_id, o.slug AS organisation,"
            f" {', '.join('d.' + f for f in DEVICE_FIELDS)}"
            " FROM devices d JOIN organisations o ON o.id = d.organisation_id"
            " WHERE d.public_id = %s" + (" FOR UPDATE OF d" if lock else ""),
            (public_id,),
        ).fetchone()


def list_device_owners(conn: Conn, public_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each of those devices that exists, by public id: its id, organisation_id and
    organisation (slug). One query for a whole file's devices."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT d.public_id, d.id, d.organisation_id, o.slug AS organisation"
            " FROM devices d JOIN organisations o ON o.id = d.organisation_id"
            " WHERE d.public_id = ANY(%s)",
            (list(public_ids),),
        ).fetchall()
    return {row.pop("public_id"): row for row in rows}


def _id_and_entry(cursor: Cursor[Any]) -> RowMaker[tuple[int, dict[str, Any]]]:
    """Rows as (the first column, a dict of the other columns by name, in order)."""
    names = [column.name for column in cursor.description or ()][1:]
    return lambda values: (values[0], dict(zip(names, values[1:], strict=True)))


def list_device_entries(
    conn: Conn, fields: Sequence[str], device_ids: Sequence[int] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """Every device (or those of `device_ids`) as (id, its `fields` in that order), by public
    id; `fields` are device columns and "organisation" (the slug). For listing many fast."""
    unknown = set(fields) - {"organisation", *DEVICE_FIELDS}
    if unknown:
        raise ValueError(f"not device fields: {', '.join(sorted(unknown))}")
    columns = ", ".join(f"o.slug AS {f}" if f == "organisation" else f"d.{f}" for f in fields)
    with conn.cursor(row_factory=_id_and_entry) as cur:
        return cur.execute(
            f"SELECT d.id, {columns}"
            " FROM devices d JOIN organisations o ON o.id = d.organisation_id"
            " WHERE %(ids)s::integer[] IS NULL OR d.id = ANY(%(ids)s)"
            " ORDER BY d.public_id",
            {"ids": None if device_ids is None else list(device_ids)},
        ).fetchall()


def list_metric_entries(
    conn: Conn, fields: Sequence[str], device_ids: Sequence[int] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """Every declared (not withdrawn) metric, of every device or those of `device_ids`, as
    (device id, its `fields` in that order), by device and id. For listing many fast."""
    unknown = set(fields) - set(METRIC_FIELDS)
    if unknown:
        raise ValueError(f"not metric fields: {', '.join(sorted(unknown))}")
    with conn.cursor(row_factory=_id_and_entry) as cur:
        return cur.execute(
            f"SELECT device_id, {', '.join(fields)} FROM device_metrics"
            " WHERE withdrawn_at IS NULL"
            " AND (%(ids)s::integer[] IS NULL OR device_id = ANY(%(ids)s))"
            " ORDER BY device_id, id",
            {"ids": None if device_ids is None else list(device_ids)},
        ).fetchall()


def list_declared_metrics(
    conn: Conn, device_ids: Iterable[int] | None = None
) -> list[dict[str, Any]]:
    """Declared (not withdrawn) metrics, of some devices or all, by device and key."""
    with conn.cursor(row_factory=dict_row) as cur:
        where = "withdrawn_at IS NULL" + ("" if device_ids is None else " AND device_id = ANY(%s)")
        return cur.execute(
            f"SELECT id, device_id, {', '.join(METRIC_FIELDS)} FROM device_metrics"
            f" WHERE {where} ORDER BY device_id, id",
            () if device_ids is None else (list(device_ids),),
        ).fetchall()


def list_withdrawn_retention(conn: Conn, public_id: str) -> dict[str, timedelta]:
    """The retention each withdrawn metric of a device last declared, by key."""
    rows = conn.execute(
        "SELECT m.key, m.retention FROM device_metrics m JOIN devices d ON d.id = m.device_id"
        " WHERE d.public_id = %s AND m.withdrawn_at IS NOT NULL",
        (public_id,),
    ).fetchall()
    return {key: retention for key, retention in rows}


def insert_device(conn: Conn, organisation_id: int, values: dict[str, Any]) -> int:
    """Create a device; return its id."""
    row = conn.execute(
        f"INSERT INTO devices (organisation_id, {', '.join(DEVICE_FIELDS)})"
        f" VALUES (%s, {', '.join(['%s'] * len(DEVICE_FIELDS))}) RETURNING id",
        [organisation_id, *(values[f] for f in DEVICE_FIELDS)],
    ).fetchone()
    return returned_id(row)


def update_device(conn: Conn, device_id: int, organisation_id: int, values: dict[str, Any]) -> None:
    """Overwrite a device's fields."""
    assignments = ", ".join(f"{f} = %s" for f in DEVICE_FIELDS)
    conn.execute(
        f"UPDATE devices SET organisation_id = %s, {assignments}, updated_at = now() WHERE id = %s",
        [organisation_id, *(values[f] for f in DEVICE_FIELDS), device_id],
    )


def upsert_metric(conn: Conn, device_id: int, values: dict[str, Any]) -> None:
    """Declare a metric on a device: a new row, or the same key's row updated and un-withdrawn."""
    conn.execute(
        f"INSERT INTO device_metrics (device_id, {', '.join(METRIC_FIELDS)})"
        f" VALUES (%s, {', '.join(['%s'] * len(METRIC_FIELDS))})"
        " ON CONFLICT (device_id, key) DO UPDATE SET "
        + ", ".join(f"{f} = EXCLUDED.{f}" for f in METRIC_FIELDS if f != "key")
        + ", withdrawn_at = NULL",
        [device_id, *(values[f] for f in METRIC_FIELDS)],
    )


def list_keys_ever_personal(conn: Conn, device_id: int) -> set[str]:
    """Keys of the device's metrics declared personal data, withdrawn ones included."""
    rows = conn.execute(
        "SELECT key FROM device_metrics WHERE device_id = %s AND personal", (device_id,)
    ).fetchall()
    return {row[0] for row in rows}


def withdraw_metrics(conn: Conn, device_id: int, keys: Iterable[str]) -> None:
    """Take metrics off a device; their rows stay for the readings and history that name them."""
    conn.execute(
        "UPDATE device_metrics SET withdrawn_at = now()"
        " WHERE device_id = %s AND key = ANY(%s) AND withdrawn_at IS NULL",
        (device_id, list(keys)),
    )


def list_external_ids(conn: Conn) -> dict[tuple[str, str], str]:
    """Every DevEUI and TTN device id held, as (column, value), with its device's public id:
    one query where a file of many devices would ask `find_external_id_owner` for each."""
    rows = conn.execute(
        "SELECT 'dev_eui', dev_eui, public_id FROM devices WHERE dev_eui IS NOT NULL"
        " UNION ALL SELECT 'ttn_device_id', ttn_device_id, public_id FROM devices"
        " WHERE ttn_device_id IS NOT NULL"
    ).fetchall()
    return {(column, value): public_id for column, value, public_id in rows}


def find_external_id_owner(conn: Conn, column: str, value: str) -> str | None:
    """The public id of the device that holds a DevEUI or TTN device id, if any."""
    if column not in ("dev_eui", "ttn_device_id"):
        raise ValueError(f"not an external id column: {column}")
    row = conn.execute(f"SELECT public_id FROM devices WHERE {column} = %s", (value,)).fetchone()
    return None if row is None else str(row[0])
