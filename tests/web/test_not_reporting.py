"""A device not reporting as often as it declares: on its page, in the list and its filter, in
its organisation's summary and in API v1, from the marks of mark_silent (called directly)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from register.jobs.silence import mark_silent
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import add_device
from tests.register.test_silence import heard, registered
from tests.web.test_api import ok, problem


@pytest.fixture
def register(web_settings: Settings) -> Settings:
    """camden-aq-0001 declares PT15M and was last heard an hour ago (not reporting);
    camden-aq-0002 declares PT15M and was heard a minute ago; camden-aq-0003 declares nothing
    and was heard a week ago; hackney-aq-0001 declares PT1M but is suspended."""
    with db.connect(web_settings) as conn:
        with conn.transaction():
            ids = [
                add_device(conn, "camden-aq-0001", reporting_interval="PT15M"),
                add_device(conn, "camden-aq-0002", reporting_interval="PT15M"),
                add_device(conn, "camden-aq-0003"),
                add_device(
                    conn,
                    "hackney-aq-0001",
                    organisation="hackney",
                    reporting_interval="PT1M",
                    status="suspended",
                ),
            ]
        for device_id, ago in zip(
            ids,
            (timedelta(hours=1), timedelta(minutes=1), timedelta(days=7), timedelta(days=7)),
            strict=True,
        ):
            registered(conn, device_id, timedelta(days=30))
            heard(conn, device_id, ago)
        assert mark_silent(conn, web_settings).summary == "1 device marked not reporting"
    return web_settings


def since_of(web_settings: Settings) -> datetime:
    with db.connect(web_settings) as conn:
        row = conn.execute("SELECT since FROM device_silence").fetchone()
    assert row is not None
    return row[0].astimezone(UTC)


def test_the_device_page_says_since_when_it_has_not_reported_and_how_often_it_should(
    client: FlaskClient, register: Settings
) -> None:
    since = since_of(register)
    html = client.get("/devices/camden-aq-0001").get_data(as_text=True)
    shown = since.strftime("%H:%M on %d %B %Y")
    assert re.search(
        rf"<strong>Not reporting</strong> since <time datetime=\"{re.escape(since.isoformat())}\">"
        rf"{shown} \(UTC\)</time>: it is expected every 15 minutes\.",
        html,
    ), html
    reporting = client.get("/devices/camden-aq-0002").get_data(as_text=True)
    assert "Not reporting" not in reporting
    assert "It is expected to report every 15 minutes." in reporting
    silent_without_interval = client.get("/devices/camden-aq-0003").get_data(as_text=True)
    assert "Not reporting" not in silent_without_interval
    assert "expected" not in silent_without_interval
    live = client.get("/devices/camden-aq-0001.json").get_json()["live"]
    assert live["reporting_interval"] == "PT15M"
    assert live["expected"] == "every 15 minutes"
    assert live["not_reporting"] == f"Not reporting since {shown} (UTC); expected every 15 minutes"


def test_the_list_shows_and_filters_the_devices_not_reporting(
    client: FlaskClient, register: Settings
) -> None:
    def listed(query: str) -> list[str]:
        return [d["public_id"] for d in ok(client, f"/devices.json{query}")["devices"]]

    assert listed("?reporting=no") == ["camden-aq-0001"]
    # Only devices whose reporting is tracked: active, with an interval.
    assert listed("?reporting=yes") == ["camden-aq-0002"]
    assert listed("?reporting=") == [
        "camden-aq-0001", "camden-aq-0002", "camden-aq-0003", "hackney-aq-0001"
    ]  # fmt: skip
    first = ok(client, "/devices.json")["devices"][0]
    assert first["reporting_interval"] == "PT15M"
    assert first["not_reporting_since"] is not None
    assert first["not_reporting"].startswith("Not reporting since ")
    html = client.get("/?reporting=no").get_data(as_text=True)
    assert '<option value="no" selected>Not reporting as declared</option>' in html
    assert re.search(r'<span class="not-reporting"><strong>Not reporting</strong> since', html)
    rows = list(csv.DictReader(io.StringIO(client.get("/devices.csv").get_data(as_text=True))))
    assert [(r["reporting_interval"], bool(r["not_reporting_since"])) for r in rows] == [
        ("PT15M", True), ("PT15M", False), ("", False), ("PT1M", False)
    ]  # fmt: skip
    features = client.get("/devices.geojson?reporting=no").get_json()["features"]
    assert features[0]["properties"]["not_reporting"].startswith("Not reporting since ")
    assert "reporting: 'maybe' must be yes or no" in problem(
        client, "/devices.json?reporting=maybe", 400
    )


def test_the_organisation_counts_its_devices_not_reporting(
    client: FlaskClient, register: Settings
) -> None:
    assert ok(client, "/organisations/camden.json")["transparency"]["not_reporting_devices"] == 1
    assert ok(client, "/organisations/hackney.json")["transparency"]["not_reporting_devices"] == 0
    html = client.get("/organisations/camden").get_data(as_text=True)
    assert (
        "<strong>1</strong> is not reporting as often as declared "
        '(<a href="/?organisation=camden&amp;reporting=no">which</a>).'
    ) in html
    organisation = ok(client, "/api/v1/organisations/camden")
    assert organisation["transparency"]["not_reporting_devices"] == 1


def test_api_v1_says_it_filters_it_and_documents_the_filter(
    client: FlaskClient, register: Settings
) -> None:
    live = ok(client, "/api/v1/devices/camden-aq-0001")["live"]
    assert live["not_reporting_since"] is not None and live["expected"] == "every 15 minutes"
    listing = ok(client, "/api/v1/devices?reporting=no")
    assert [d["public_id"] for d in listing["devices"]] == ["camden-aq-0001"]
    assert listing["devices"][0]["reporting_interval"] == "PT15M"
    assert listing["filters"] == {"reporting": "no"}
    assert "reporting: 'sometimes' must be yes or no" in problem(
        client, "/api/v1/devices?reporting=sometimes", 400
    )
    assert "reporting: is empty" in problem(client, "/api/v1/devices?reporting=", 400)
    document = ok(client, "/api/v1/openapi.json")
    parameters = document["paths"]["/api/v1/devices"]["get"]["parameters"]
    (reporting,) = [p for p in parameters if p["name"] == "reporting"]
    assert reporting["schema"]["enum"] == ["yes", "no"]
    summary = document["components"]["schemas"]["DeviceSummary"]["properties"]
    assert {"reporting_interval", "not_reporting_since", "not_reporting"} <= set(summary)


def test_a_device_heard_from_again_reports_at_once_without_waiting_for_the_job(
    client: FlaskClient, register: Settings
) -> None:
    with db.connect(register) as conn:
        (device_id,) = conn.execute(
            "SELECT id FROM devices WHERE public_id = 'camden-aq-0001'"
        ).fetchone() or (0,)
        heard(conn, device_id, timedelta(seconds=0))
    assert "Not reporting" not in client.get("/devices/camden-aq-0001").get_data(as_text=True)
    assert ok(client, "/devices.json?reporting=no")["devices"] == []
    assert ok(client, "/organisations/camden.json")["transparency"]["not_reporting_devices"] == 0
    with db.connect(register) as conn:
        assert conn.execute("SELECT count(*) FROM device_silence").fetchone() == (1,)
        assert mark_silent(conn, register).summary == "1 device recovered"
