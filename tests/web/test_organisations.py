"""An organisation's page with its transparency summary, and the about page."""

from __future__ import annotations

import dataclasses

import pytest
from flask.testing import FlaskClient

from register import devices
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN, add_device
from tests.web.samples import add_camera
from web.app import create_app
from web.database import EXTENSION


def test_an_organisation_page_sums_up_its_devices(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        add_device(conn, "camden-aq-0002", status="planned")
        add_camera(conn)
        add_device(conn, "camden-aq-0003")
        devices.decommission_device(conn, "camden-aq-0003", ADMIN)
        add_device(conn, "hackney-aq-0001", organisation="hackney")
    summary = client.get("/organisations/camden.json").get_json()
    t = summary["transparency"]
    assert t["devices"] == 4
    assert t["by_status"] == {"active": 2, "planned": 1, "suspended": 0, "decommissioned": 1}
    assert t["personal_data_devices"] == 1
    assert "refused_messages" not in t  # counted by the compliance job, not on each request
    assert t["purposes"] == [
        {"id": "health", "name": "Health", "devices": 2},
        {"id": "planning_decision_making", "name": "Planning & Decision-making", "devices": 2},
        {"id": "safety_security", "name": "Safety & Security", "devices": 1},
    ]
    assert [d["public_id"] for d in summary["devices"]] == [
        "camden-aq-0001", "camden-aq-0002", "camden-aq-0003", "camden-cam-0001"
    ]  # fmt: skip
    html = client.get("/organisations/camden").get_data(as_text=True)
    assert "<strong>4</strong> devices in the register: 2 active, 1 planned" in html
    assert "<strong>1</strong> collects personal data." in html


def test_an_unknown_organisation_is_a_404(client: FlaskClient) -> None:
    assert client.get("/organisations/narnia").status_code == 404
    problem = client.get("/organisations/narnia.json")
    assert problem.status_code == 404
    assert problem.get_json()["detail"] == "There is no organisation 'narnia' in the register."


def test_the_about_page_says_what_is_enforced(client: FlaskClient) -> None:
    html = client.get("/about").get_data(as_text=True)
    for heading in (
        "Data the register does not declare is never stored",
        "Data is deleted when its declared retention ends",
        "A device that stops reporting is shown as not reporting",
        "Every change is public",
        "Personal data is marked, and never published",
        "Nothing is lost",
    ):
        assert f"<h2>{heading}</h2>" in html
    assert '<a href="/system">the system page</a>' in html
    footer = html[html.index("<footer") :]
    assert "data is deleted when its declared retention ends" in footer
    twin = client.get("/about.json").get_json()
    first = twin["guarantees"][0]
    assert first["title"] == "Data the register does not declare is never stored"
    # The defaults in force: retention every 15 minutes, refused messages kept 7 days.
    assert "The job runs every 15 minutes" in twin["guarantees"][1]["how"]
    assert "kept aside for 7 days" in first["how"]


@pytest.mark.parametrize(
    "jobs", [{"retention_interval": 600.0, "quarantine_keep_days": 3, "silence_factor": 2.5}]
)
def test_the_about_page_quotes_the_settings_in_force(
    migrated_settings: Settings, jobs: dict[str, float]
) -> None:
    settings = dataclasses.replace(
        migrated_settings, jobs=dataclasses.replace(migrated_settings.jobs, **jobs)
    )
    app = create_app(settings)
    try:
        said = {
            g["id"]: g["how"] for g in app.test_client().get("/about.json").get_json()["guarantees"]
        }
    finally:
        app.extensions[EXTENSION].close()
    assert (
        "normally kept no longer than its retention plus 10 minutes" in said["retention_enforced"]
    )
    assert "kept aside for 3 days" in said["undeclared_data_refused"]
    assert "for 2.5 times that interval" in said["silence_noticed"]
