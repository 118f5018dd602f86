"""Full register downloads: `/register.json`, `.geojson` and `.csv`, the command line's files,
with a strong ETag and Last-Modified, 304s, and nothing beyond the register entries."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.http import http_date, parse_date

from register import devices, exports, imports
from register.platform import db
from register.platform.config import Settings
from register.schemas import DeviceSchema, MetricSchema
from tests.register.factories import ADMIN, add_device
from tests.web.samples import add_camera

MEDIA_TYPES = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
}
# Values that exist in the database but outside the register entries.
READING_VALUE = 987.654321
QUARANTINED = "QUARANTINED-PAYLOAD-7f3a"


@pytest.fixture
def register(web_settings: Settings) -> Settings:
    """Two devices (one a camera with personal data), readings, refusals and last-seen times;
    the register's history dated yesterday, so a change today moves Last-Modified."""
    with db.connect(web_settings) as conn, conn.transaction():
        air = add_device(conn, "camden-aq-0001")
        add_camera(conn)
        [(no2,)] = conn.execute(
            "SELECT id FROM device_metrics WHERE device_id = %s AND key = 'no2'", (air,)
        ).fetchall()
        conn.execute("INSERT INTO readings VALUES (now(), %s, %s, %s)", (air, no2, READING_VALUE))
        conn.execute(
            "INSERT INTO quarantine (source, topic, payload, payload_size, reason, message, "
            "device_id) VALUES ('native', 't', %s, 24, 'undeclared_metric', 'test', %s)",
            (QUARANTINED.encode(), air),
        )
        conn.execute("INSERT INTO device_activity VALUES (%s, now(), now())", (air,))
        conn.execute("UPDATE audit_events SET at = at - interval '1 day'")
    return web_settings


def newest_change(settings: Settings) -> datetime:
    with db.connect(settings) as conn:
        row = conn.execute("SELECT max(at) FROM audit_events").fetchone()
    assert row is not None
    return row[0].astimezone(UTC).replace(microsecond=0)


@pytest.mark.parametrize("fmt", imports.FORMATS)
def test_each_format_is_the_register_as_the_command_line_exports_it(
    client: FlaskClient, register: Settings, fmt: str
) -> None:
    answer = client.get(f"/register.{fmt}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == MEDIA_TYPES[fmt]
    assert answer.headers["Content-Disposition"] == (
        f'attachment; filename="lamplighter-register.{fmt}"'
    )
    assert answer.headers["Cache-Control"] == "public, max-age=300"
    etag, weak = answer.get_etag()
    assert etag and not weak, "a strong ETag"
    assert answer.last_modified == newest_change(register)
    with db.connect(register) as conn:
        assert answer.get_data() == exports.build(conn, fmt)


@pytest.mark.parametrize("fmt", imports.FORMATS)
def test_each_format_goes_back_into_the_register_unchanged(
    client: FlaskClient, register: Settings, fmt: str
) -> None:
    text = client.get(f"/register.{fmt}").get_data(as_text=True)
    with db.connect(register) as conn:
        report = imports.import_entries(conn, imports.read(text, fmt), ADMIN, dry_run=True)
    assert report.ok, report.problems
    assert report.unchanged == ["camden-aq-0001", "camden-cam-0001"]


def test_the_files_carry_dtpr_ids_and_the_shape_of_each_format(
    client: FlaskClient, register: Settings
) -> None:
    document = client.get("/register.json").get_json()
    assert document["format"] == "lamplighter.devices/1"
    camera = next(d for d in document["devices"] if d["public_id"] == "camden-cam-0001")
    assert camera["technology"] == ["video_camera"]
    assert camera["purposes"] == ["safety_security"]
    assert camera["data_types"] == ["pixel_based_image", "personal"]
    collection = json.loads(client.get("/register.geojson").get_data())
    assert collection["type"] == "FeatureCollection"
    feature = collection["features"][0]
    assert feature["id"] == "camden-aq-0001"
    assert feature["geometry"] == {"type": "Point", "coordinates": [-0.1426, 51.539]}
    rows = list(csv.DictReader(io.StringIO(client.get("/register.csv").get_data(as_text=True))))
    assert [(r["public_id"], r["metric_key"]) for r in rows] == [
        ("camden-aq-0001", "no2"),
        ("camden-aq-0001", "pm2_5"),
        ("camden-cam-0001", "people_count"),
        ("camden-cam-0001", "incident_clip"),
    ]


@pytest.mark.parametrize("fmt", imports.FORMATS)
def test_a_client_that_has_the_file_gets_a_304_by_etag_or_by_date(
    client: FlaskClient, register: Settings, fmt: str
) -> None:
    first = client.get(f"/register.{fmt}")
    etag = first.headers["ETag"]
    by_etag = client.get(f"/register.{fmt}", headers={"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.get_data() == b""
    # A 304 carries the validator and the caching rules, not the body's metadata (RFC 9110).
    assert by_etag.headers["ETag"] == etag
    assert by_etag.headers["Cache-Control"] == "public, max-age=300"
    by_date = client.get(
        f"/register.{fmt}", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert by_date.status_code == 304 and by_date.get_data() == b""
    # An older copy, or another file, is sent in full.
    older = http_date(newest_change(register).timestamp() - 60)
    assert client.get(f"/register.{fmt}", headers={"If-Modified-Since": older}).status_code == 200
    assert client.get(f"/register.{fmt}", headers={"If-None-Match": '"other"'}).status_code == 200


def test_the_formats_have_different_etags(client: FlaskClient, register: Settings) -> None:
    tags = {client.get(f"/register.{fmt}").headers["ETag"] for fmt in imports.FORMATS}
    assert len(tags) == 3


@pytest.mark.parametrize("fmt", imports.FORMATS)
def test_a_change_to_the_register_changes_the_etag_and_last_modified(
    client: FlaskClient, register: Settings, fmt: str
) -> None:
    before = client.get(f"/register.{fmt}")
    with db.connect(register) as conn, conn.transaction():
        entry = devices.get_device(conn, "camden-aq-0001")
        assert entry is not None
        entry["metrics"][0]["retention"] = "P14D"
        devices.update_device(conn, "camden-aq-0001", entry, ADMIN)
    after = client.get(f"/register.{fmt}", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    last_modified = parse_date(after.headers["Last-Modified"])
    assert last_modified is not None and before.last_modified is not None
    assert last_modified > before.last_modified
    assert "P14D" in after.get_data(as_text=True)
    assert "P14D" not in before.get_data(as_text=True)
    since = client.get(
        f"/register.{fmt}", headers={"If-Modified-Since": before.headers["Last-Modified"]}
    )
    assert since.status_code == 200


def test_an_export_holds_the_register_entries_and_nothing_else(
    client: FlaskClient, register: Settings
) -> None:
    bodies = {fmt: client.get(f"/register.{fmt}").get_data(as_text=True) for fmt in imports.FORMATS}
    for fmt, text in bodies.items():
        assert str(READING_VALUE) not in text, f"a reading in the {fmt} export"
        assert QUARANTINED not in text, f"a refused payload in the {fmt} export"
        assert "test administrator" not in text, f"a person's name in the {fmt} export"
        for word in ("last_seen", "last_stored", "quarantine", "refused", "history"):
            assert word not in text, f"{word} in the {fmt} export"
    document = json.loads(bodies["json"])
    assert set(document) == {"format", "devices"}
    for entry in document["devices"]:
        assert list(entry) == list(DeviceSchema().fields)
        for metric in entry["metrics"]:
            assert list(metric) == list(MetricSchema().fields)
    for feature in json.loads(bodies["geojson"])["features"]:
        assert set(feature) == {"type", "id", "geometry", "properties"}
        assert set(feature["properties"]) == set(DeviceSchema().fields) - {"latitude", "longitude"}
    header = next(csv.reader(io.StringIO(bodies["csv"])))
    assert header == [*imports.DEVICE_COLUMNS, *imports.METRIC_COLUMNS]


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The formats whose body the web built, in order (the build itself still runs)."""
    built: list[str] = []
    build = exports.build

    def counted(conn: Any, fmt: str) -> bytes:
        built.append(fmt)
        return build(conn, fmt)

    monkeypatch.setattr(exports, "build", counted)
    yield built


def test_a_body_is_built_once_per_change_and_a_304_builds_nothing(
    client: FlaskClient, register: Settings, builds: list[str]
) -> None:
    first = client.get("/register.geojson")
    assert client.get("/register.geojson").get_data() == first.get_data()
    tag = first.headers["ETag"]
    assert client.get("/register.geojson", headers={"If-None-Match": tag}).status_code == 304
    assert client.get("/register.csv", headers={"If-None-Match": "*"}).status_code == 304
    assert builds == ["geojson"]
    with db.connect(register) as conn, conn.transaction():
        devices.decommission_device(conn, "camden-cam-0001", ADMIN)
    assert '"decommissioned"' in client.get("/register.geojson").get_data(as_text=True)
    assert builds == ["geojson", "geojson"]


def test_an_empty_register_downloads_with_an_etag_and_no_date(client: FlaskClient) -> None:
    answer = client.get("/register.json")
    assert answer.status_code == 200
    assert answer.get_json()["devices"] == []
    assert answer.headers["ETag"] and "Last-Modified" not in answer.headers


@pytest.mark.parametrize("path", ["/", "/about"])
def test_the_home_and_about_pages_link_every_download(
    client: FlaskClient, register: Settings, path: str
) -> None:
    html = client.get(path).get_data(as_text=True)
    for fmt in imports.FORMATS:
        assert f'href="/register.{fmt}"' in html


def test_a_new_encoding_of_the_rows_gives_new_etags(
    client: FlaskClient, register: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = client.get("/register.geojson").headers["ETag"]
    monkeypatch.setattr(exports, "LAYOUT", exports.LAYOUT + 1)
    answer = client.get("/register.geojson", headers={"If-None-Match": before})
    assert answer.status_code == 200
    assert answer.headers["ETag"] != before
