"""A device's page in plain English, and its JSON twin, from a real register."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from register import devices
from register.jobs import catalogue, runs
from register.jobs.compliance import compute_compliance
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN, add_device
from tests.web.samples import add_camera

HEADINGS = (
    "What is this?",
    "Why is it here?",
    "What does it collect?",
    "How long is data kept?",
    "Who is responsible, and how do I ask a question?",
    "Is the data open?",
    "Is it working?",
    "Does the system do what the register says?",
    "What has changed?",
    "The sign on the street",
)


def headings(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html)]


def test_a_device_page_answers_a_residents_questions_in_order(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
    page = client.get("/devices/camden-aq-0001")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert headings(html) == list(HEADINGS)
    assert '<html lang="en-GB">' in html
    assert "This device does not collect personal data." in html
    assert "Nitrogen dioxide" in html and "micrograms per cubic metre" in html
    assert "30 days" in html and "1 year" in html
    assert '<a href="/organisations/camden">London Borough of Camden</a> is accountable' in html
    assert "Lamplighter has not heard from it." in html
    readings = "/api/v1/devices/camden-aq-0001/readings?metric=no2"
    assert f'<a href="{readings}">Nitrogen dioxide</a>' in html


def test_personal_data_stands_out_with_its_legal_basis_and_dpia(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        add_camera(conn)
    html = client.get("/devices/camden-cam-0001").get_data(as_text=True)
    assert "This device collects personal data." in html
    assert "Which law allows the personal data?" in headings(html)
    assert "public task (Article 6(1)(e))" in html
    assert "<td>a count</td>" in html
    assert 'href="https://www.camden.gov.uk/dpia/cameras"' in html
    assert re.search(r'<tr class="personal">\s*<th scope="row">Incident video clip saved', html)
    card = client.get("/devices/camden-cam-0001.json").get_json()
    assert card["personal_data"]["metrics"] == ["incident_clip"]
    assert card["open_data"]["metrics"] == ["people_count"]


def test_the_json_twin_carries_the_same_card(client: FlaskClient, web_settings: Settings) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
    answer = client.get("/devices/camden-aq-0001.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    card = answer.get_json()
    assert card["public_id"] == "camden-aq-0001"
    assert [p["id"] for p in card["purposes"]] == ["health", "planning_decision_making"]
    assert card["purposes"][0]["explanation"]
    assert [(m["key"], m["retention_text"]) for m in card["metrics"]] == [
        ("no2", "30 days"), ("pm2_5", "1 year")
    ]  # fmt: skip
    assert card["responsible"]["organisation"]["name"] == "London Borough of Camden"
    assert card["compliance"]["computed_at"] is None


def test_compliance_shows_refused_data_and_the_oldest_reading_against_retention(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn:
        with conn.transaction():
            device_id = add_device(conn, "camden-aq-0001")
            [(no2,)] = conn.execute(
                "SELECT id FROM device_metrics WHERE device_id = %s AND key = 'no2'", (device_id,)
            ).fetchall()
            conn.execute(
                "INSERT INTO readings VALUES (now() - interval '29 days', %s, %s, 20), "
                "(now() - interval '1 day', %s, %s, 21)",
                (device_id, no2, device_id, no2),
            )
            for reason in ("undeclared_metric", "undeclared_metric", "unit_mismatch"):
                conn.execute(
                    "INSERT INTO quarantine (source, topic, payload, payload_size, reason, "
                    "message, device_id) VALUES ('native', 't', 'x', 1, %s, 'test', %s)",
                    (reason, device_id),
                )
            conn.execute(
                "INSERT INTO device_activity VALUES (%s, now() - interval '2 minutes', now())",
                (device_id,),
            )
        compute_compliance(conn, web_settings)
    card = client.get("/devices/camden-aq-0001.json").get_json()
    compliance = card["compliance"]
    assert compliance["computed_at"] is not None
    assert compliance["refused"]["last_7_days"] == compliance["refused"]["last_30_days"] == 3
    assert [(r["reason"], r["last_7_days"]) for r in compliance["refused"]["by_reason"]] == [
        ("undeclared_metric", 2), ("unit_mismatch", 1)
    ]  # fmt: skip
    no2_check, pm_check = compliance["retention"]
    assert no2_check["key"] == "no2" and round(no2_check["oldest_stored_days"]) == 29
    assert no2_check["declared_days"] == 30 and no2_check["within_retention"] is True
    assert pm_check["oldest_stored_days"] is None and pm_check["within_retention"] is True
    html = client.get("/devices/camden-aq-0001").get_data(as_text=True)
    assert "<strong>3</strong> in the last 7 days" in html
    assert "The device sent a kind of data the register does not allow it to collect." in html
    assert "29.0 days" in html and "Last heard from at" in html


def test_a_change_to_retention_shows_in_the_public_history(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        entry = devices.get_device(conn, "camden-aq-0001")
        assert entry is not None
        entry["metrics"][0]["retention"] = "P14D"
        devices.update_device(conn, "camden-aq-0001", entry, ADMIN)
    card = client.get("/devices/camden-aq-0001.json").get_json()
    assert [event["action"] for event in card["history"]] == ["create", "update"]
    assert "metrics.no2.retention" in card["history"][1]["changes"]
    assert "test administrator" not in str(card["history"]), "people's names are not public"
    html = client.get("/devices/camden-aq-0001").get_data(as_text=True)
    assert "metrics.no2.retention" in html
    # Creation lists no fields: every field is new, and the list would say nothing.
    assert re.search(r"create by London Borough of Camden</li>", html)


def test_an_unknown_device_is_a_404_page_or_a_json_problem(client: FlaskClient) -> None:
    page = client.get("/devices/camden-aq-9999")
    assert page.status_code == 404
    assert "There is no device &#39;camden-aq-9999&#39; in the register." in page.get_data(
        as_text=True
    )
    problem = client.get("/devices/camden-aq-9999.json")
    assert problem.status_code == 404 and problem.mimetype == "application/problem+json"
    assert problem.get_json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "There is no device 'camden-aq-9999' in the register.",
    }


def test_json_twins_give_times_in_iso_8601_utc(client: FlaskClient, web_settings: Settings) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        device_id = add_device(conn, "camden-aq-0001")
        conn.execute(
            "INSERT INTO device_activity VALUES (%s, '2026-11-22 21:15:00+01', NULL)", (device_id,)
        )
    card = client.get("/devices/camden-aq-0001.json").get_json()
    assert card["live"]["last_seen_at"] == "2026-11-22T20:15:00Z"
    assert card["installed_on"] == "2026-03-01"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", card["history"][0]["at"])


def test_the_page_shows_the_newest_open_readings_of_the_last_day_and_never_personal_ones(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        camera = add_camera(conn)
        metric_ids = dict(
            conn.execute(
                "SELECT key, id FROM device_metrics WHERE device_id = %s", (camera,)
            ).fetchall()
        )
        for key, age, value in [
            ("people_count", "2 days", 40),  # too old to show
            ("people_count", "5 minutes", 12),
            ("people_count", "30 seconds", 17),  # the newest
            ("incident_clip", "10 seconds", 1),  # personal data: never shown
        ]:
            conn.execute(
                "INSERT INTO readings VALUES (now() - %s::interval, %s, %s, %s)",
                (age, camera, metric_ids[key], value),
            )
    card = client.get("/devices/camden-cam-0001.json").get_json()
    (latest,) = card["live"]["latest_readings"]
    assert (latest["key"], latest["value"], latest["value_text"]) == (
        "people_count",
        17.0,
        "17",
    )
    html = client.get("/devices/camden-cam-0001").get_data(as_text=True)
    assert "Its newest open-data readings in the last day" in html
    assert "<td>17</td>" in html
    assert "incident_clip" not in html[html.index('id="live"') : html.index('id="compliance"')]


def test_the_page_proves_expired_readings_were_deleted_by_the_retention_job(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn:
        with conn.transaction():
            device_id = add_device(conn, "camden-aq-0001")  # no2 is kept 30 days
            conn.execute(
                "INSERT INTO readings SELECT now() - make_interval(days => 30 + n), device_id,"
                " id, n FROM device_metrics, generate_series(1, 5) AS n"
                " WHERE device_id = %s AND key = 'no2'",
                (device_id,),
            )
        retention = catalogue.find("enforce_retention")
        assert retention is not None
        assert runs.run(conn, web_settings, retention).outcome.rows == 5  # type: ignore[union-attr]
        compute_compliance(conn, web_settings)
    card = client.get("/devices/camden-aq-0001.json").get_json()
    assert card["compliance"]["deleted_by_retention"] == {"days": 7, "readings": 5}
    html = client.get("/devices/camden-aq-0001").get_data(as_text=True)
    assert (
        "Readings deleted as their retention ended, in the last 7 days:\n      <strong>5</strong>"
        in html
    )
