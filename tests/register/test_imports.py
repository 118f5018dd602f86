"""Import and export: all or nothing, every bad row reported by place, and lossless round trips."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from register import devices, exports, imports
from register.platform.config import Settings
from tests.conftest import run_cli
from tests.register.factories import ADMIN, add_device, add_organisation, device_entry

Conn = psycopg.Connection[Any]


def seed(conn: Conn) -> None:
    """A small register with every kind of field in use."""
    add_organisation(conn)
    add_organisation(conn, "hackney")
    add_device(conn)
    add_device(
        conn,
        "camden-cam-0001",
        name="Lamp post camera",
        technology=["video_camera", "lighting_controller"],
        purposes=["safety_security", "street_lighting"],
        data_types=["personal", "values_time"],
        legal_basis="public_task",
        dpia_url="https://www.camden.gov.uk/dpia/cam-0001",
        metrics=[
            {
                "key": "people",
                "label": "People passing",
                "unit": "count",
                "value_kind": "number",
                "personal": False,
                "retention": "P365D",
                "open_data": True,
            },
            {
                "key": "plate_match",
                "label": "Number plate matched",
                "unit": "",
                "value_kind": "boolean",
                "personal": True,
                "retention": "P31D",
                "open_data": False,
            },
        ],
    )
    add_device(
        conn,
        "hackney-park-0001",
        organisation="hackney",
        technology=["magnetometer", "lorawan"],
        purposes=["mobility"],
        dev_eui="70B3D57ED0001234",
        ttn_device_id="hackney-parking@ttn/bay-1",
        reporting_interval="PT10M",
        metrics=[
            {
                "key": "occupied",
                "label": "Bay occupied",
                "unit": "",
                "value_kind": "boolean",
                "personal": False,
                "retention": "PT12H",
                "open_data": True,
            }
        ],
    )
    add_device(conn, "hackney-empty-0001", organisation="hackney", status="planned", metrics=[])
    devices.decommission_device(conn, "camden-aq-0001", ADMIN)
    conn.commit()


@pytest.mark.parametrize("fmt", imports.FORMATS)
def test_export_then_import_gives_back_the_same_register(
    conn: Conn, migrated_settings: Settings, fmt: str, tmp_path: Path
) -> None:
    seed(conn)
    exported = exports.build(conn, fmt).decode()
    original = devices.list_devices(conn)
    # Into the same register: nothing changes.
    report = imports.import_entries(conn, imports.read(exported, fmt), ADMIN, dry_run=False)
    assert report.ok and report.unchanged == [d["public_id"] for d in original]
    # Into an empty register with the same organisations: the same devices come back.
    conn.execute("TRUNCATE devices, device_metrics, audit_events RESTART IDENTITY CASCADE")
    conn.commit()
    assert devices.list_devices(conn) == []
    path = tmp_path / f"register.{fmt}"
    path.write_text(exported, encoding="utf-8")

    def imported() -> str:
        """What `lamplighter devices import` prints for the file, checked to succeed."""
        result = run_cli(
            "devices",
            "import",
            str(path),
            env={"LAMPLIGHTER_DATABASE_URL": migrated_settings.database_url},
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "4 devices checked: 4 were created" in imported()
    assert devices.list_devices(conn) == original
    assert exports.build(conn, fmt).decode() == exported
    # The command line may write every organisation: no device is another's, left alone.
    assert (
        "4 devices checked: 0 were created, 0 were updated, 4 unchanged, "
        "0 of other organisations left alone" in imported()
    )


def test_geojson_export_is_a_feature_collection_of_points(conn: Conn) -> None:
    seed(conn)
    document = json.loads(exports.build(conn, "geojson"))
    assert document["type"] == "FeatureCollection"
    feature = next(f for f in document["features"] if f["id"] == "hackney-park-0001")
    assert feature["geometry"] == {"type": "Point", "coordinates": [-0.1426, 51.539]}
    assert feature["properties"]["technology"] == ["magnetometer", "lorawan"]
    assert feature["properties"]["reporting_interval"] == "PT10M"
    assert "latitude" not in feature["properties"]


def test_every_format_carries_the_reporting_interval_in_iso_8601(conn: Conn) -> None:
    seed(conn)
    rows = list(csv.DictReader(io.StringIO(exports.build(conn, "csv").decode())))
    assert {row["public_id"]: row["reporting_interval"] for row in rows} == {
        "camden-aq-0001": "",
        "camden-cam-0001": "",
        "hackney-empty-0001": "",
        "hackney-park-0001": "PT10M",
    }
    listed = json.loads(exports.build(conn, "json"))["devices"]
    assert [d["reporting_interval"] for d in listed] == [None, None, None, "PT10M"]


def csv_with_rows(
    conn: Conn,
    lines: dict[int, dict[str, str]] | None = None,
    by_device: dict[str, dict[str, str]] | None = None,
) -> str:
    """The register's CSV export with cells changed on some lines (the header is line 1), or on
    every line of some devices (device fields repeat on each of a device's lines).

    The seeded export's lines: 2-3 camden-aq-0001, 4-5 camden-cam-0001, 6 hackney-empty-0001,
    7 hackney-park-0001.
    """
    rows = list(csv.DictReader(io.StringIO(exports.build(conn, "csv").decode())))
    for line, cells in (lines or {}).items():
        rows[line - 2].update(cells)
    for row in rows:
        row.update((by_device or {}).get(row["public_id"], {}))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_an_import_with_bad_rows_stores_nothing_and_reports_each_one(conn: Conn) -> None:
    seed(conn)
    before = exports.build(conn, "json").decode()
    text = csv_with_rows(
        conn,
        lines={3: {"metric_unit": "cel"}},
        by_device={
            "camden-aq-0001": {"name": "Renamed, and fine"},
            "camden-cam-0001": {"purposes": "safety"},
            "hackney-empty-0001": {"latitude": "95"},
            "hackney-park-0001": {"reporting_interval": "every now and then"},
        },
    )
    text = text.replace("hackney-empty-0001", "hackney-new-0001")  # a new device, otherwise good
    report = imports.import_entries(conn, imports.read(text, "csv"), ADMIN, dry_run=False)
    assert not report.ok
    assert report.problems == [
        "line 3, metric_unit: 'cel' is not a SenML unit; close matches: Cel",
        "line 4, purposes[0]: 'safety' is not a DTPR purpose; close matches: safety_security",
        "line 6, latitude: must be between -90 and 90 (WGS84 degrees)",
        "line 7, reporting_interval: 'every now and then' is not a reporting interval; use an "
        "ISO 8601 duration such as PT15M, PT1H or P1D, or text such as '15 minutes'; leave it "
        "empty if the device does not say",
    ]
    assert exports.build(conn, "json").decode() == before
    assert devices.get_device(conn, "hackney-new-0001") is None


def test_rows_of_one_device_must_agree_and_ids_must_not_repeat(conn: Conn) -> None:
    seed(conn)
    text = csv_with_rows(conn, lines={3: {"name": "Another name"}})
    problems = imports.import_entries(conn, imports.read(text, "csv"), ADMIN, dry_run=True).problems
    assert problems == [
        "line 3, public_id: its device fields differ from line 2, the same device's first row"
    ]
    entries = imports.read_json([device_entry("camden-x-1"), device_entry("camden-x-1")])
    problems = imports.import_entries(conn, entries, ADMIN, dry_run=True).problems
    assert problems == ["device 2, public_id: camden-x-1 also appears at device 1"]


def test_json_and_geojson_problems_are_reported_by_device_and_feature(conn: Conn) -> None:
    seed(conn)
    entries = imports.read_json(
        {
            "devices": [
                device_entry("camden-x-1"),
                device_entry("camden-x-2", technology=["cam"]),
                device_entry("camden-x-3", reporting_interval="PT0S"),
            ]
        }
    )
    problems = imports.import_entries(conn, entries, ADMIN, dry_run=True).problems
    assert problems == [
        "device 2, technology[0]: 'cam' is not a DTPR technology; "
        "close matches: video_camera, video_camera_infrared",
        "device 3, reporting_interval: must be longer than zero; use an ISO 8601 duration such "
        "as PT15M, PT1H or P1D, or text such as '15 minutes'; leave it empty if the device does "
        "not say",
    ]
    collection = json.loads(exports.build(conn, "geojson"))
    collection["features"][1]["geometry"] = None
    collection["features"][3]["properties"]["status"] = "gone"
    collection["features"][3]["properties"]["reporting_interval"] = "-PT1M"
    problems = imports.import_entries(
        conn, imports.read_geojson(collection), ADMIN, dry_run=True
    ).problems
    assert problems == [
        "feature 2, latitude: is required",
        "feature 2, longitude: is required",
        "feature 4, status: must be one of: planned, active, suspended, decommissioned",
        "feature 4, reporting_interval: '-PT1M' is not a reporting interval; use an ISO 8601 "
        "duration such as PT15M, PT1H or P1D, or text such as '15 minutes'; leave it empty if "
        "the device does not say",
    ]


def test_a_dry_run_reports_what_would_change_and_stores_nothing(conn: Conn) -> None:
    seed(conn)
    before = exports.build(conn, "json").decode()
    entries = imports.read_json(
        [device_entry("camden-new-0001"), device_entry("camden-cam-0001", name="x")]
    )
    report = imports.import_entries(conn, entries, ADMIN, dry_run=True)
    assert report.ok
    assert report.created == ["camden-new-0001"]
    assert report.problems == []
    assert exports.build(conn, "json").decode() == before


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.json", "{not json", "not valid JSON"),
        (
            "bad.json",
            '{"things": []}',
            'expected a list of devices, or an object with a "devices" list',
        ),
        ("bad.geojson", '{"type": "Feature"}', "expected a GeoJSON FeatureCollection"),
        ("bad.csv", "public_id,colour\nx,red\n", "unknown CSV column(s): colour"),
        ("bad.csv", "", "the CSV file is empty"),
        ("bad.txt", "x", "cannot tell the format of bad.txt"),
        # Each of these was a traceback (or a 500 in the console) before the reader refused it.
        (
            "big.csv",
            ",".join(exports.DEVICE_COLUMNS) + '\n"' + "x" * 140_000 + '"\n',
            "the CSV cannot be read at line 2: field larger than field limit (131072)",
        ),
        ("nul.csv", "public_id\ncamden-\x00\n", "line 2 holds a NUL character"),
        ("nul.json", '[{"name": "a\\u0000b"}]', "a string holds a NUL character (\\u0000)"),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "not valid JSON: depth limit exceeded"),
        ("long.json", '[{"latitude": ' + "9" * 5000 + "}]", "not valid JSON: number is infinity"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(
    settings: Settings, tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = run_cli(
        "devices", "import", str(path), env={"LAMPLIGHTER_DATABASE_URL": settings.database_url}
    )
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_line_prints_three_bad_rows_and_exits_non_zero(
    conn: Conn, migrated_settings: Settings, tmp_path: Path
) -> None:
    seed(conn)
    before = exports.build(conn, "json").decode()
    path = tmp_path / "devices.csv"
    path.write_text(
        csv_with_rows(
            conn,
            lines={4: {"metric_retention": "forever"}},
            by_device={"camden-aq-0001": {"status": "on"}, "hackney-park-0001": {"dev_eui": "xyz"}},
        ),
        encoding="utf-8",
    )
    result = run_cli(
        "devices",
        "import",
        str(path),
        env={"LAMPLIGHTER_DATABASE_URL": migrated_settings.database_url},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[:3] == [
        f"{path}: line 2, status: must be one of: planned, active, suspended, decommissioned",
        f"{path}: line 4, metric_retention: 'forever' is not a retention period; use an ISO 8601 "
        "duration such as P30D or PT12H, text such as '30 days', or 'not retained'",
        f"{path}: line 7, dev_eui: not a DevEUI; use 16 hexadecimal digits, e.g. 70B3D57ED0001234",
    ]
    assert lines[3] == f"lamplighter: 3 problem(s) in {path}; nothing was imported"
    assert exports.build(conn, "json").decode() == before
