"""An organisation's page with its transparency summary, and the about page."""

from __future__ import annotations

from flask.testing import FlaskClient

from register import devices
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN, add_device
from tests.web.samples import add_camera


def test_an_organisation_page_sums_up_its_devices(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        device_id = add_device(conn, "camden-aq-0001")
        add_device(conn, "camden-aq-0002", status="planned")
        add_camera(conn)
        add_device(conn, "camden-aq-0003")
        devices.decommission_device(conn, "camden-aq-0003", ADMIN)
        add_device(conn, "hackney-aq-0001", organisation="hackney")
        conn.execute(
            "INSERT INTO quarantine (source, topic, payload, payload_size, reason, message, "
            "device_id) VALUES ('native', 't', 'x', 1, 'undeclared_metric', 'test', %s)",
            (device_id,),
        )
    summary = client.get("/organisations/camden.json").get_json()
    t = summary["transparency"]
    assert t["devices"] == 4
    assert t["by_status"] == {"active": 2, "planned": 1, "suspended": 0, "decommissioned": 1}
    assert t["personal_data_devices"] == 1 and t["refused_messages"] == 1
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
    assert "<strong>1</strong> message refused" in html


def test_an_unknown_organisation_is_a_404(client: FlaskClient) -> None:
    assert client.get("/organisations/narnia").status_code == 404
    problem = client.get("/organisations/narnia.json")
    assert problem.status_code == 404
    assert problem.get_json()["detail"] == "There is no organisation 'narnia' in the register."


def test_the_about_page_says_what_is_enforced(client: FlaskClient) -> None:
    html = client.get("/about").get_data(as_text=True)
    for heading in (
        "Data the register does not declare is never stored",
        "How long data is kept is declared, and checked in the open",
        "Every change is public",
        "Personal data is marked, and never published",
        "Nothing is lost",
    ):
        assert f"<h2>{heading}</h2>" in html
    # No job deletes stored readings or refused messages yet, so no page may say one does.
    footer = html[html.index("<footer") :]
    for promise in ("scheduled job", "every 15 minutes", "(7 days)", "deleted when"):
        assert promise not in html, promise
    assert "how long its data is kept against what it" in footer
    twin = client.get("/about.json").get_json()
    first = twin["guarantees"][0]
    assert first["title"] == "Data the register does not declare is never stored"
    assert "not yet deleted automatically" in twin["guarantees"][1]["how"]
