"""The home page's list: search and filters as a plain HTML form, and the list's data twins."""

from __future__ import annotations

import csv
import dataclasses
import io
import re

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from register.platform import db
from register.platform.config import Settings
from tests.benchmarks.ingest.bench_register import add_bench_devices
from tests.register.factories import add_device
from tests.web.samples import add_camera
from web import device_filters


@pytest.fixture
def register(web_settings: Settings) -> Settings:
    """Three Camden devices (one a camera with personal data, one planned) and one in Hackney."""
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        add_device(conn, "camden-aq-0002", status="planned", place="lamp post 7, Kentish Town Road")
        add_camera(conn)
        add_device(conn, "hackney-aq-0001", organisation="hackney", place="Mare Street")
    return web_settings


def listed(client: FlaskClient, query: str = "") -> list[str]:
    answer = client.get(f"/devices.json{query}")
    assert answer.status_code == 200, answer.get_json()
    return [d["public_id"] for d in answer.get_json()["devices"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["camden-aq-0001", "camden-aq-0002", "camden-cam-0001", "hackney-aq-0001"]),
        ("?q=kentish", ["camden-aq-0002"]),
        ("?q=HACKNEY", ["hackney-aq-0001"]),
        ("?purpose=safety_security", ["camden-cam-0001"]),
        ("?technology=air_quality&organisation=camden", ["camden-aq-0001", "camden-aq-0002"]),
        ("?personal=yes", ["camden-cam-0001"]),
        ("?personal=no&status=planned", ["camden-aq-0002"]),
        ("?q=&purpose=&personal=", ["camden-aq-0001", "camden-aq-0002", "camden-cam-0001",
                                    "hackney-aq-0001"]),
    ],
)  # fmt: skip
def test_each_filter_narrows_the_list(
    client: FlaskClient, register: Settings, query: str, expected: list[str]
) -> None:
    assert listed(client, query) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?colour=red", "unknown filter 'colour'"),
        (
            "?purpose=safety",
            "purpose: 'safety' is not a DTPR purpose; did you mean safety_security?",
        ),
        ("?technology=drone", "technology: 'drone' is not a DTPR technology"),
        ("?status=broken", "status: 'broken' must be one of planned, active, suspended"),
        ("?personal=maybe", "personal: 'maybe' must be yes or no"),
        ("?organisation=narnia", "organisation: no organisation 'narnia' in the register"),
        ("?page=0", "page: must be a whole number from 1"),
        ("?page=two", "page: must be a whole number from 1"),
    ],
)
def test_a_filter_that_cannot_be_right_is_a_400_that_says_why(
    client: FlaskClient, register: Settings, query: str, message: str
) -> None:
    for path in ("/devices.json", "/devices.geojson", "/devices.csv"):
        answer = client.get(path + query)
        assert answer.status_code == 400
        assert answer.mimetype == "application/problem+json"
        assert message in answer.get_json()["detail"]
    page = client.get("/" + query)
    assert page.status_code == 400
    assert str(escape(message)) in page.get_data(as_text=True)


def test_each_filter_the_table_reads_is_a_field_of_the_filters() -> None:
    fields = tuple(field.name for field in dataclasses.fields(device_filters.Filters))
    assert fields == device_filters.FILTER_NAMES


def test_the_home_page_form_works_without_javascript(
    client: FlaskClient, register: Settings
) -> None:
    html = client.get("/?personal=yes&organisation=camden").get_data(as_text=True)
    assert '<form method="get" action="/"' in html
    assert "1 sensor</h2>" in html
    assert '<a href="/devices/camden-cam-0001">Safety camera</a>' in html
    assert '<option value="yes" selected>' in html
    assert '<option value="camden" selected>' in html
    # Every control has a label.
    ids = re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', html)
    assert ids and all(f'<label for="{i}">' in html for i in ids)
    assert 'href="/devices.csv?personal=yes&amp;organisation=camden"' in html


def test_the_list_pages_by_fifty(client: FlaskClient, web_settings: Settings) -> None:
    with db.connect(web_settings) as conn:
        add_bench_devices(conn, 55)
    first = client.get("/devices.json").get_json()
    assert (first["total"], first["pages"], len(first["devices"])) == (55, 2, 50)
    second = client.get("/devices.json?page=2").get_json()
    assert len(second["devices"]) == 5
    assert not set(d["public_id"] for d in first["devices"]) & set(
        d["public_id"] for d in second["devices"]
    )
    html = client.get("/").get_data(as_text=True)
    assert "Page 1 of 2." in html and 'href="/?page=2">Next page</a>' in html


def test_geojson_and_csv_export_every_match(client: FlaskClient, register: Settings) -> None:
    geojson = client.get("/devices.geojson?organisation=camden")
    assert geojson.mimetype == "application/geo+json"
    collection = geojson.get_json()
    assert collection["type"] == "FeatureCollection"
    assert [f["id"] for f in collection["features"]] == [
        "camden-aq-0001", "camden-aq-0002", "camden-cam-0001"
    ]  # fmt: skip
    first = collection["features"][0]
    assert first["geometry"] == {"type": "Point", "coordinates": [-0.1426, 51.539]}
    assert first["properties"]["personal_data"] is False
    answer = client.get("/devices.csv?personal=yes")
    assert answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [(r["public_id"], r["personal_data"], r["purposes"]) for r in rows] == [
        ("camden-cam-0001", "yes", "safety_security")
    ]


def test_near_lists_devices_within_the_radius_nearest_first(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        # camden-aq-0001 is at 51.5390,-0.1426; the others 150 m, 400 m and 2 km north of it.
        add_device(conn, "camden-aq-0001")
        for public_id, metres in (("camden-aq-0003", 400), ("camden-aq-0002", 150),
                                  ("camden-aq-0004", 2000)):  # fmt: skip
            add_device(conn, public_id, latitude=51.5390 + metres / 111_195)
    answer = client.get("/devices.json?near=51.5390,-0.1426").get_json()
    assert [(d["public_id"], d["distance_m"]) for d in answer["devices"]] == [
        ("camden-aq-0001", 0), ("camden-aq-0002", 150), ("camden-aq-0003", 400)
    ]  # fmt: skip
    assert answer["near"] == {"latitude": 51.539, "longitude": -0.1426}
    assert answer["radius"] == 500
    wider = client.get("/devices.json?near=51.5390,-0.1426&radius=2500").get_json()
    assert [d["public_id"] for d in wider["devices"]][-1] == "camden-aq-0004"
    html = client.get("/?near=51.5390,-0.1426").get_data(as_text=True)
    assert "3 sensors within 500 m, nearest first" in html
    assert "150 m away" in html
    assert '<a href="/">Show sensors anywhere</a>' in html
    assert '<input type="hidden" name="near" value="51.539,-0.1426">' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?near=91,0", "near: latitude 91 is out of range (-90 to 90)"),
        ("?near=51.5,-181", "near: longitude -181 is out of range (-180 to 180)"),
        ("?near=somewhere", "near: 'somewhere' must be latitude,longitude in degrees"),
        ("?near=51.5,-0.1&radius=20000", "radius: 20000 m is too large; the largest is 5000 m"),
        ("?near=51.5,-0.1&radius=0", "radius: must be a number of metres above 0"),
        ("?radius=100", "radius: only applies with near=latitude,longitude"),
    ],
)
def test_a_near_search_that_cannot_be_right_is_a_400(
    client: FlaskClient, web_settings: Settings, query: str, message: str
) -> None:
    answer = client.get("/devices.json" + query)
    assert answer.status_code == 400
    assert message in answer.get_json()["detail"]
