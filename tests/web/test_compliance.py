"""The compliance figures on the device page, the organisation page, their JSON twins and API
v1: read from what the compliance job stored, with when it was computed, or "not yet
computed"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask.testing import FlaskClient

from ingest import reasons
from register.jobs.compliance import compute_compliance
from register.platform import db
from register.platform.config import Settings
from register.queries import Conn
from tests.register.factories import add_device
from web import refusal_reasons


def add_reading(conn: Conn, public_id: str, key: str, age: str) -> None:
    conn.execute(
        """INSERT INTO readings
           SELECT now() - %s::interval, m.device_id, m.id, 1
             FROM device_metrics m JOIN devices d ON d.id = m.device_id
            WHERE d.public_id = %s AND m.key = %s""",
        (age, public_id, key),
    )


def refuse(conn: Conn, public_id: str, reason: str, age: str) -> None:
    conn.execute(
        """INSERT INTO quarantine (received_at, source, topic, payload, payload_size, reason,
                                  message, device_id)
           SELECT now() - %s::interval, 'native', 't', 'x', 1, %s, 'test', id
             FROM devices WHERE public_id = %s""",
        (age, reason, public_id),
    )


def seed(settings: Settings, *, computed: bool = True) -> None:
    """Camden: one device within retention, one whose no2 keeps a 40-day-old reading (30 days
    declared) and a withdrawn metric with a reading still stored; refused data at 2 and 12 days.
    Hackney: one device, nothing stored."""
    with db.connect(settings) as conn:
        with conn.transaction():
            add_device(conn, "camden-aq-0001")
            add_device(conn, "camden-aq-0002")
            add_device(conn, "hackney-aq-0001", organisation="hackney")
            add_reading(conn, "camden-aq-0001", "no2", "29 days")
            add_reading(conn, "camden-aq-0002", "no2", "40 days")
            add_reading(conn, "camden-aq-0002", "pm2_5", "3 days")
            conn.execute("UPDATE device_metrics SET withdrawn_at = now() WHERE key = 'pm2_5'")
            refuse(conn, "camden-aq-0002", "undeclared_metric", "2 days")
            refuse(conn, "camden-aq-0002", "unit_mismatch", "12 days")
        if computed:
            compute_compliance(conn, settings)


def at_the_same_times(compliance: dict[str, Any]) -> dict[str, Any]:
    """The figures without their times, which the API writes with a Z and the page's JSON
    twin with +00:00."""
    retention = [{**check, "oldest_stored_at": None} for check in compliance["retention"]]
    return {**compliance, "computed_at": None, "retention": retention}


def test_before_the_first_run_the_pages_say_not_yet_computed(
    client: FlaskClient, web_settings: Settings
) -> None:
    seed(web_settings, computed=False)
    card = client.get("/devices/camden-aq-0002.json").get_json()
    assert card["compliance"]["computed_at"] is None
    assert card["compliance"]["all_within_retention"] is None
    assert [c["within_retention"] for c in card["compliance"]["retention"]] == [None]
    html = client.get("/devices/camden-aq-0002").get_data(as_text=True)
    assert "Not yet computed" in html and "✗" not in html
    organisation = client.get("/api/v1/organisations/camden").get_json()
    assert organisation["transparency"]["compliance"] == {
        "computed_at": None,
        "devices_within_retention": None,
        "devices_measured": None,
        "share_within_retention": None,
        "refused_last_7_days": None,
        "refused_last_30_days": None,
    }
    assert "Not yet computed" in client.get("/organisations/camden").get_data(as_text=True)


def test_a_metric_kept_too_long_shows_a_cross_and_refusals_show_by_reason(
    client: FlaskClient, web_settings: Settings
) -> None:
    seed(web_settings)
    card = client.get("/devices/camden-aq-0002.json").get_json()
    compliance = card["compliance"]
    computed_at = datetime.fromisoformat(compliance["computed_at"])
    assert compliance["all_within_retention"] is False
    no2, pm2_5 = compliance["retention"]
    assert (no2["key"], no2["oldest_stored_days"], no2["declared_days"]) == ("no2", 40.0, 30.0)
    assert no2["within_retention"] is False and no2["withdrawn"] is False
    assert (pm2_5["key"], pm2_5["withdrawn"], pm2_5["within_retention"]) == ("pm2_5", True, True)
    assert compliance["refused"] == {
        "last_7_days": 1,
        "last_30_days": 2,
        "by_reason": [
            {
                "reason": "undeclared_metric",
                "text": refusal_reasons.describe("undeclared_metric"),
                "last_7_days": 1,
                "last_30_days": 1,
            },
            {
                "reason": "unit_mismatch",
                "text": "A reading was in a different unit from the one declared.",
                "last_7_days": 0,
                "last_30_days": 1,
            },
        ],
    }
    html = client.get("/devices/camden-aq-0002").get_data(as_text=True)
    assert f'Figures as of <time datetime="{computed_at.isoformat()}">' in html
    assert computed_at.strftime("%H:%M on %d %B %Y") + " UTC" in html
    assert (
        "<td>40.0 days</td>\n          <td>30 days</td>\n          <td><strong>No ✗</strong>"
        in html
    )
    assert "(no longer collected)" in html
    assert "<strong>1</strong> in the last 7 days, <strong>2</strong> in the last 30 days" in html
    assert "A reading was in a different unit from the one declared." in html
    within = client.get("/devices/camden-aq-0001").get_data(as_text=True)
    assert "<td>29.0 days</td>\n          <td>30 days</td>\n          <td>Yes ✓</td>" in within
    api = client.get("/api/v1/devices/camden-aq-0002").get_json()["compliance"]
    assert at_the_same_times(api) == at_the_same_times(compliance)
    assert datetime.fromisoformat(api["computed_at"]) == computed_at


def test_a_metric_declared_after_the_run_is_not_yet_measured(
    client: FlaskClient, web_settings: Settings
) -> None:
    seed(web_settings)
    with db.connect(web_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0003")
    card = client.get("/devices/camden-aq-0003.json").get_json()
    assert card["compliance"]["computed_at"] is not None
    assert [(c["key"], c["within_retention"]) for c in card["compliance"]["retention"]] == [
        ("no2", None), ("pm2_5", None)
    ]  # fmt: skip
    assert "not yet measured" in client.get("/devices/camden-aq-0003").get_data(as_text=True)


def test_an_organisation_shows_its_share_of_devices_within_retention(
    client: FlaskClient, web_settings: Settings
) -> None:
    seed(web_settings)
    summary = client.get("/organisations/camden.json").get_json()
    compliance = summary["transparency"]["compliance"]
    assert compliance["computed_at"] is not None
    assert (compliance["devices_within_retention"], compliance["devices_measured"]) == (1, 2)
    assert compliance["share_within_retention"] == 0.5
    assert (compliance["refused_last_7_days"], compliance["refused_last_30_days"]) == (1, 2)
    html = client.get("/organisations/camden").get_data(as_text=True)
    assert "<strong>50.0 %</strong> of its devices (1 of the 2 measured)" in html
    assert "<strong>1</strong> in the last 7 days, <strong>2</strong> in the last 30 days" in html
    listed = client.get("/api/v1/organisations").get_json()["organisations"]
    hackney = next(o for o in listed if o["slug"] == "hackney")
    assert hackney["transparency"]["compliance"]["share_within_retention"] == 1.0
    camden = client.get("/api/v1/organisations/camden").get_json()["transparency"]["compliance"]
    assert {**camden, "computed_at": None} == {**compliance, "computed_at": None}
    computed_at = datetime.fromisoformat(compliance["computed_at"])
    assert datetime.fromisoformat(camden["computed_at"]) == computed_at


def test_every_reason_code_has_a_plain_english_text() -> None:
    assert set(refusal_reasons.TEXTS) == set(reasons.ALL)
