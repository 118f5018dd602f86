"""API v1 against a real register: what each endpoint answers, and each kind of bad request."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from register import devices
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN, add_device, device_entry
from tests.web.samples import add_camera
from tests.web.test_api_schema import PATHS
from web import database, device_filters
from web.api import schemas
from web.app import create_app
from web.database import EXTENSION

# camden-aq-0001 is at 51.5390,-0.1426; the others are 150 m and 2 km north, and in Hackney.
NORTH_150_M = 51.5390 + 150 / 111_195
NORTH_2_KM = 51.5390 + 2000 / 111_195


@pytest.fixture
def register(web_settings: Settings) -> Settings:
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        add_device(conn, "camden-aq-0002", latitude=NORTH_150_M, status="planned")
        add_device(conn, "camden-aq-0003", latitude=NORTH_2_KM)
        add_camera(conn)
        add_device(conn, "hackney-aq-0001", organisation="hackney", latitude=51.545,
                   longitude=-0.055, place="Mare Street")  # fmt: skip
    return web_settings


def ok(client: FlaskClient, path: str) -> dict:
    answer = client.get(path)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/json"
    return answer.get_json()


def problem(client: FlaskClient, path: str, status: int) -> str:
    answer = client.get(path)
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert body["status"] == status
    return body["detail"]


def ids(listing: dict) -> list[str]:
    return [d["public_id"] for d in listing["devices"]]


def test_devices_near_a_point_come_nearest_first_with_distances(
    client: FlaskClient, register: Settings
) -> None:
    listing = ok(client, "/api/v1/devices?near=51.5390,-0.1426&radius=2500")
    found = [(d["public_id"], d["distance_m"]) for d in listing["devices"]]
    assert found[:2] == [("camden-aq-0001", 0), ("camden-cam-0001", 0)]
    assert found[2:] == [("camden-aq-0002", 150), ("camden-aq-0003", 2000)]
    assert listing["near"] == {"latitude": 51.539, "longitude": -0.1426}
    assert listing["radius"] == 2500
    first = listing["devices"][0]
    assert first["url"] == "/api/v1/devices/camden-aq-0001"
    assert first["page"] == "/devices/camden-aq-0001"
    assert ids(ok(client, "/api/v1/devices?near=51.5390,-0.1426")) == [
        "camden-aq-0001", "camden-cam-0001", "camden-aq-0002"]  # fmt: skip


def test_devices_filter_by_box_and_the_home_pages_filters(
    client: FlaskClient, register: Settings
) -> None:
    hackney_box = "/api/v1/devices?bbox=-0.06,51.54,-0.05,51.55"
    assert ids(ok(client, hackney_box)) == ["hackney-aq-0001"]
    assert ids(ok(client, "/api/v1/devices?personal=yes")) == ["camden-cam-0001"]
    assert ids(ok(client, "/api/v1/devices?status=planned&organisation=camden")) == [
        "camden-aq-0002"
    ]
    assert ids(ok(client, "/api/v1/devices?purpose=safety_security&q=camera")) == [
        "camden-cam-0001"
    ]
    assert ok(client, "/api/v1/devices")["devices"][0]["distance_m"] is None


def test_devices_come_in_pages(client: FlaskClient, register: Settings) -> None:
    first = ok(client, "/api/v1/devices?per_page=2")
    second = ok(client, "/api/v1/devices?per_page=2&page=3")
    assert (first["total"], first["pages"], first["page_size"]) == (5, 3, 2)
    assert ids(first) == ["camden-aq-0001", "camden-aq-0002"]
    assert ids(second) == ["hackney-aq-0001"]
    assert ok(client, "/api/v1/devices?page=9")["devices"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("near=91,0", "near: latitude 91 is out of range (-90 to 90)"),
        ("near=51.5,-0.1&radius=20000", "radius: 20000 m is too large; the largest is 5000 m"),
        ("purpose=safety", "purpose: 'safety' is not a DTPR purpose; did you mean"),
        ("organisation=narnia", "organisation: no organisation 'narnia' in the register"),
        ("colour=red", "unknown filter 'colour'"),
        ("bbox=1,2,3", "bbox: '1,2,3' must be west,south,east,north in degrees"),
        ("bbox=-0.1,51.6,0,51.5", "bbox: south 51.6 is north of north 51.5"),
        ("bbox=170,0,-170,10", "a box across the antimeridian is not supported"),
        ("bbox=0,-91,1,0", "bbox: south -91 is out of range (-90 to 90)"),
        ("per_page=501", "per_page: must be a whole number from 1 to 500"),
        ("per_page=0", "per_page: must be a whole number from 1 to 500"),
        ("page=99999999999999999999", "page: must be a whole number from 1 to 100,000"),
        ("q=%00", "NUL character"),
        ("bbox=", "bbox: is empty; leave it out to not filter by it"),
        ("status=%20active", "status: has spaces around 'active'"),
    ],
)
def test_a_device_list_parameter_that_cannot_be_right_is_a_400_that_says_why(
    client: FlaskClient, register: Settings, query: str, message: str
) -> None:
    assert message in problem(client, f"/api/v1/devices?{query}", 400)


def test_a_device_says_everything_in_words_and_ids(client: FlaskClient, register: Settings) -> None:
    device = ok(client, "/api/v1/devices/camden-cam-0001")
    assert device["purposes"] == [
        {
            "id": "safety_security",
            "name": "Safety & Security",
            "explanation": device["purposes"][0]["explanation"],
            "local": False,
        }
    ]
    assert device["purposes"][0]["explanation"]
    assert device["personal_data"]["collected"] is True
    assert device["personal_data"]["metrics"] == ["incident_clip"]
    assert device["personal_data"]["legal_basis"] == "public_task"
    assert device["open_data"] == {"metrics": ["people_count"]}
    assert device["responsible"]["organisation"]["slug"] == "camden"
    assert device["live"] == {
        "last_seen_at": None,
        "last_stored_at": None,
        "reporting_interval": None,
        "expected": None,
        "not_reporting_since": None,
        "not_reporting": None,
        "latest_readings": [],
    }
    assert device["compliance"] == {
        "computed_at": None,
        "retention": [
            {
                "key": key,
                "label": label,
                "withdrawn": False,
                "oldest_stored_at": None,
                "oldest_stored_days": None,
                "declared_days": days,
                "declared_text": f"{days:.0f} days",
                "within_retention": None,
            }
            for key, label, days in (
                ("people_count", "People passing", 30.0),
                ("incident_clip", "Incident video clip saved", 31.0),
            )
        ],
        "all_within_retention": None,
        "refused": {"last_7_days": 0, "last_30_days": 0, "by_reason": []},
        "deleted_by_retention": {"days": 7, "readings": 0},
    }
    assert device["links"] == {
        "page": "/devices/camden-cam-0001",
        "history": "/api/v1/devices/camden-cam-0001/history",
        "readings": "/api/v1/devices/camden-cam-0001/readings",
        "entry": "/api/v1/devices/camden-cam-0001/entry",
    }
    assert set(device) == set(schemas.Device._declared_fields)


def test_a_devices_history_names_organisations_never_people(
    client: FlaskClient, register: Settings
) -> None:
    with db.connect(register) as conn, conn.transaction():
        devices.update_device(
            conn, "camden-aq-0001", device_entry(place="lamp post 43, Camden High Street"),
            ADMIN, note="moved one post north",
        )  # fmt: skip
    history = ok(client, "/api/v1/devices/camden-aq-0001/history")
    assert [e["action"] for e in history["events"]] == ["create", "update"]
    moved = history["events"][1]
    assert moved["changes"] == {
        "place": {
            "before": "lamp post 42, Camden High Street",
            "after": "lamp post 43, Camden High Street",
        }
    }
    assert moved["note"] == "moved one post north"
    assert ADMIN.label not in str(history)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/devices/nowhere-0001",
        "/api/v1/devices/nowhere-0001/history",
        "/api/v1/devices/nowhere-0001/readings?metric=no2",
    ],
)
def test_an_unknown_device_is_a_404(client: FlaskClient, register: Settings, path: str) -> None:
    assert "There is no device 'nowhere-0001' in the register." in problem(client, path, 404)


def add_readings(settings: Settings, public_id: str, key: str, values: list[tuple]) -> None:
    with db.connect(settings) as conn, conn.transaction():
        conn.cursor().executemany(
            """INSERT INTO readings (time, device_id, metric_id, value)
               SELECT %s, d.id, m.id, %s FROM devices d JOIN device_metrics m ON m.device_id = d.id
                WHERE d.public_id = %s AND m.key = %s""",
            [(t, v, public_id, key) for t, v in values],
        )


def test_open_readings_come_in_time_buckets(client: FlaskClient, register: Settings) -> None:
    hour = datetime(2026, 11, 20, 9, tzinfo=UTC)
    add_readings(register, "camden-aq-0001", "no2", [
        (hour, 10.0), (hour + timedelta(minutes=20), 20.0), (hour + timedelta(minutes=59), 60.0),
        (hour + timedelta(hours=2, minutes=5), 7.5),
        (hour - timedelta(minutes=1), 99.0),  # before the range
    ])  # fmt: skip
    add_readings(register, "camden-aq-0001", "pm2_5", [(hour, 1000.0)])
    found = ok(
        client,
        "/api/v1/devices/camden-aq-0001/readings?metric=no2&bucket=1h"
        "&start=2026-11-20T09:00:00Z&end=2026-11-20T12:00:00%2B00:00",
    )
    assert found["metric"] == {"key": "no2", "label": "Nitrogen dioxide", "unit": "ug/m3"}
    assert found["start"] == "2026-11-20T09:00:00+00:00"
    assert found["end"] == "2026-11-20T12:00:00+00:00"
    assert found["buckets"] == [
        {"time": "2026-11-20T09:00:00+00:00", "count": 3, "mean": 30.0, "min": 10.0, "max": 60.0},
        {"time": "2026-11-20T11:00:00+00:00", "count": 1, "mean": 7.5, "min": 7.5, "max": 7.5},
    ]
    daily = ok(client, "/api/v1/devices/camden-aq-0001/readings?metric=no2&bucket=1d"
                       "&start=2026-11-20T00:00:00Z&end=2026-11-21T00:00:00Z")  # fmt: skip
    assert [(b["count"], b["max"]) for b in daily["buckets"]] == [(5, 99.0)]


def test_huge_values_are_averaged_without_overflow(client: FlaskClient, register: Settings) -> None:
    """Any finite double may be stored; a float8 average of 1e200 and 0 would overflow."""
    hour = datetime(2026, 11, 20, 9, tzinfo=UTC)
    add_readings(
        register, "camden-aq-0001", "no2", [(hour, 1e200), (hour + timedelta(minutes=1), 0.0)]
    )
    found = ok(client, "/api/v1/devices/camden-aq-0001/readings?metric=no2&bucket=1h"
                       "&start=2026-11-20T09:00:00Z&end=2026-11-20T10:00:00Z")  # fmt: skip
    assert found["buckets"][0]["mean"] == pytest.approx(5e199)
    assert found["buckets"][0]["max"] == 1e200


def test_the_default_range_is_the_last_24_hours(client: FlaskClient, register: Settings) -> None:
    now = datetime.now(UTC)
    add_readings(register, "camden-aq-0001", "no2", [
        (now - timedelta(hours=1), 5.0), (now - timedelta(hours=30), 50.0)])  # fmt: skip
    found = ok(client, "/api/v1/devices/camden-aq-0001/readings?metric=no2")
    assert found["bucket"] == "1h"
    assert [b["max"] for b in found["buckets"]] == [5.0]


def test_a_personal_metrics_readings_are_never_served(
    client: FlaskClient, register: Settings
) -> None:
    add_readings(register, "camden-cam-0001", "incident_clip", [(datetime.now(UTC), 1.0)])
    answer = client.get("/api/v1/devices/camden-cam-0001/readings?metric=incident_clip&bucket=1m")
    assert answer.status_code == 403
    assert (
        "incident_clip is personal data; its readings are never published"
        in (answer.get_json()["detail"])
    )
    assert "buckets" not in answer.get_json()


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("", 400, "metric: is required"),
        ("metric=o3", 404, "camden-aq-0001 declares no metric 'o3'; it declares no2, pm2_5"),
        ("metric=no2&bucket=2h", 400, "bucket: must be one of: 1m, 5m, 15m, 1h, 6h, 1d, 7d"),
        ("metric=no2&start=yesterday", 400, "start: must be an RFC 3339 date and time"),
        ("metric=no2&start=2026-11-20T09:00:00", 400, "start: must give a UTC offset"),
        ("metric=no2&start=2026-11-20T10:00:00Z&end=2026-11-20T09:00:00Z", 400,
         "start: must be before end"),
        ("metric=no2&bucket=1m&start=2025-01-01T00:00:00Z&end=2026-01-01T00:00:00Z", 400,
         "1m buckets over that range would be more than 10,000"),
        ("metric=no2&colour=red", 400, "colour: unknown field"),
        ("metric=no2&end=9999-12-31T23:59:59-14:00", 400, "start, end: out of range"),
        ("metric=no2&end=0001-01-01T00:00:00Z", 400, "start, end: out of range"),
    ],
)  # fmt: skip
def test_a_readings_request_that_cannot_be_answered_says_why(
    client: FlaskClient, register: Settings, query: str, status: int, message: str
) -> None:
    detail = problem(client, f"/api/v1/devices/camden-aq-0001/readings?{query}", status)
    assert message in detail


def test_a_metric_not_declared_open_is_not_served(
    client: FlaskClient, web_settings: Settings
) -> None:
    closed = device_entry()["metrics"]
    closed[0]["open_data"] = False
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001", metrics=closed)
    detail = problem(client, "/api/v1/devices/camden-aq-0001/readings?metric=no2", 403)
    assert "no2 is not declared open data" in detail


def test_organisations_with_their_transparency_summaries(
    client: FlaskClient, register: Settings
) -> None:
    found = ok(client, "/api/v1/organisations")["organisations"]
    assert [o["slug"] for o in found] == ["camden", "hackney"]
    camden = ok(client, "/api/v1/organisations/camden")
    assert camden == found[0]
    assert camden["transparency"]["devices"] == 4
    assert camden["transparency"]["by_status"] == {
        "active": 3, "planned": 1, "suspended": 0, "decommissioned": 0}  # fmt: skip
    assert camden["transparency"]["personal_data_devices"] == 1
    assert camden["devices_url"] == "/api/v1/devices?organisation=camden"
    assert "There is no organisation 'narnia'" in problem(
        client, "/api/v1/organisations/narnia", 404
    )


def test_vocabularies_keep_dtpr_ids(client: FlaskClient, web_settings: Settings) -> None:
    found = ok(client, "/api/v1/vocabularies")
    categories = [v["category"] for v in found["vocabularies"]]
    assert {"purpose", "technology", "data_type"} <= set(categories)
    assert "CC BY 4.0" in found["source"]
    purposes = ok(client, "/api/v1/vocabularies/purpose")["terms"]
    assert {"id": "health", "name": "Health"}.items() <= next(
        t for t in purposes if t["id"] == "health"
    ).items()
    missing = problem(client, "/api/v1/vocabularies/colours", 404)
    assert "There is no vocabulary 'colours'" in missing
    assert "unknown parameter 'x'" in problem(client, "/api/v1/vocabularies?x=1", 400)


def test_an_unknown_api_address_is_a_json_404(client: FlaskClient, web_settings: Settings) -> None:
    problem(client, "/api/v1/sensors", 404)
    assert "NUL character" in problem(client, "/api/v1/devices/a%00b", 400)


def test_the_openapi_document_lists_every_route_and_the_filters_the_list_checks(
    client: FlaskClient, web_settings: Settings
) -> None:
    document = ok(client, "/api/v1/openapi.json")
    assert document["openapi"] == "3.0.3"
    assert sorted(document["paths"]) == PATHS
    listing = document["paths"]["/api/v1/devices"]["get"]
    documented = [p["name"] for p in listing["parameters"]]
    assert sorted(documented) == sorted(device_filters.FILTER_NAMES)
    readings = document["paths"]["/api/v1/devices/{public_id}/readings"]["get"]
    assert set(readings["responses"]) == {"200", "400", "403", "404"}
    device = document["components"]["schemas"]["Device"]
    assert device["additionalProperties"] is False
    assert set(device["required"]) == set(device["properties"])


def enums_and_properties(schema: object) -> tuple[list[list], list[tuple[str, dict]]]:
    """Every enum in a part of the OpenAPI document, and every schema property with its name."""
    enums: list[list] = []
    properties: list[tuple[str, dict]] = []
    if isinstance(schema, dict):
        if isinstance(schema.get("enum"), list):
            enums.append(schema["enum"])
        if isinstance(schema.get("properties"), dict):
            properties.extend(schema["properties"].items())
        for value in schema.values():
            found = enums_and_properties(value)
            enums += found[0]
            properties += found[1]
    elif isinstance(schema, list):
        for value in schema:
            found = enums_and_properties(value)
            enums += found[0]
            properties += found[1]
    return enums, properties


def test_the_openapi_document_describes_every_field_an_entry_has_and_no_enum_holds_null(
    client: FlaskClient, register: Settings
) -> None:
    document = ok(client, "/api/v1/openapi.json")
    enums, _ = enums_and_properties(document)
    assert enums and all(None not in enum for enum in enums)
    components = document["components"]["schemas"]
    for name in ("DeviceEntry", "NewDeviceEntry", "DeviceChanges", "DeclaredMetric"):
        _, properties = enums_and_properties({"properties": components[name]["properties"]})
        assert properties
        undescribed = [field for field, spec in properties if not spec.get("description")]
        assert undescribed == [], name
    legal_basis = components["DeviceEntry"]["properties"]["legal_basis"]
    assert legal_basis["nullable"] is True and "consent" in legal_basis["enum"]
    retention = components["DeclaredMetric"]["properties"]["retention"]
    interval = components["DeviceEntry"]["properties"]["reporting_interval"]
    for period in (retention, interval):
        assert period["type"] == "string"
        assert "ISO 8601" in period["description"]
    assert "not retained" in retention["description"] and retention["example"] == "P30D"
    assert "organisation" not in components["NewDeviceEntry"]["required"]
    assert "organisation" in components["DeviceEntry"]["required"]
    post = document["paths"]["/api/v1/devices"]["post"]
    assert "404" not in post["responses"]
    assert post["requestBody"]["content"]["application/json"]["example"]["public_id"]
    patch = document["paths"]["/api/v1/devices/{public_id}"]["patch"]
    assert all(c["example"] for c in patch["requestBody"]["content"].values())
    assert "404" in patch["responses"]
    imported = components["ImportResult"]["properties"]["changes"]
    change = imported["additionalProperties"]["additionalProperties"]
    assert change == {"$ref": "#/components/schemas/FieldChange"}
    entry = document["paths"]["/api/v1/devices/{public_id}/entry"]["get"]
    assert entry["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DeviceEntry"
    }
    assert "ETag" in entry["responses"]["200"]["headers"]


def test_the_api_page_shows_the_entrys_meaning_examples_and_how_to_change_a_device(
    client: FlaskClient, register: Settings
) -> None:
    html = client.get("/api").get_data(as_text=True)
    assert "None" not in html
    assert "text, one of: consent, contract, legal_obligation, vital_interests, public_task, " \
        "legitimate_interests, or null" in html  # fmt: skip
    schema = html.split('<h3 id="schema-DeviceEntry">', 1)[1].split("</section>", 1)[0]
    assert "<td></td>" not in schema
    assert "How long its readings are kept" in html and "not retained" in html
    assert '<h2 id="changing-a-device">Changing a device</h2>' in html
    read = "curl -D headers.txt -o entry.json http://localhost/api/v1/devices/camden-aq-0001/entry"
    assert read in html
    assert "curl -X PATCH -H &#34;Authorization: Bearer $TOKEN&#34; -H" in html
    assert "&#34;public_id&#34;: &#34;camden-aq-0042&#34;" in html  # POST's example body
    imports = "--data-binary @devices.csv &#39;http://localhost/api/v1/devices/import?dry_run=true"
    assert imports in html


def test_the_device_lists_documented_limits_are_the_ones_it_checks(
    client: FlaskClient, register: Settings
) -> None:
    document = ok(client, "/api/v1/openapi.json")
    checked = []
    for parameter in document["paths"]["/api/v1/devices"]["get"]["parameters"]:
        name, schema = parameter["name"], parameter["schema"]
        asked = f"/api/v1/devices?{'near=51.5390,-0.1426&' if name == 'radius' else ''}{name}="
        if "maxLength" in schema:
            ok(client, asked + "x" * schema["maxLength"])
            problem(client, asked + "x" * (schema["maxLength"] + 1), 400)
            checked.append(name)
        if "maximum" in schema:
            ok(client, asked + f"{schema['maximum']:g}")
            problem(client, asked + f"{schema['maximum'] + 1:g}", 400)
            checked.append(name)
        if "minimum" in schema and schema.get("exclusiveMinimum"):
            ok(client, asked + f"{schema['minimum'] + 0.5:g}")
            problem(client, asked + f"{schema['minimum']:g}", 400)
        elif "minimum" in schema:
            ok(client, asked + f"{schema['minimum']:g}")
            problem(client, asked + f"{schema['minimum'] - 1:g}", 400)
    assert checked == ["q", "radius", "page", "per_page"]


def test_the_api_page_explains_every_operation_from_the_same_document(
    client: FlaskClient, register: Settings
) -> None:
    answer = client.get("/api")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    document = client.get("/api.json").get_json()
    assert document == ok(client, "/api/v1/openapi.json")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert f"<code>{method.upper()} {path}</code>" in html
            for parameter in operation["parameters"]:
                assert f'<th scope="row"><code>{parameter["name"]}</code></th>' in html
    assert "<code>PATCH /api/v1/devices/{public_id}</code>, with an API token" in html
    assert "Send: <code>application/json</code> (NewDeviceEntry)." in html
    assert '<h3 id="schema-DeviceEntry">DeviceEntry</h3>' in html
    assert "text, one of: planned, active, suspended, decommissioned" in html
    assert "number (above 0, to 5000.0)" in html
    assert 'href="/api/v1/devices?near=51.5390,-0.1426&amp;radius=500"' in html
    assert 'href="/api/v1/devices/camden-aq-0001/history"' in html
    assert '<h3 id="schema-Device">Device</h3>' in html
    assert "With <code>near</code>, only devices within <code>radius</code> metres" in html


def test_a_statement_that_runs_too_long_is_cancelled_and_answered_503(
    web_settings: Settings,
) -> None:
    """No public request holds the database for long: the pool's statement_timeout cancels it,
    and the answer says what to do."""
    quick = dataclasses.replace(
        web_settings, web=dataclasses.replace(web_settings.web, statement_timeout=0.2)
    )
    app = create_app(quick)

    def slow() -> str:  # stands in for a very large range of readings
        with database.connection() as conn:
            conn.execute("SELECT pg_sleep(5)")
        return "finished"

    app.add_url_rule("/api/v1/slow", view_func=slow)
    try:
        started = time.monotonic()
        answer = app.test_client().get("/api/v1/slow")
        assert time.monotonic() - started < 4
    finally:
        app.extensions[EXTENSION].close()
    assert answer.status_code == 503
    assert "took too long" in answer.get_json()["detail"]
