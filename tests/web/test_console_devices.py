"""The console's device pages on a real register: adding, editing (metrics too) and
decommissioning through the schema the import and the API use, errors by their fields with what
was typed kept, confirmation before data is deleted or refused, versions, and scoping."""

from __future__ import annotations

import html
import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from register import devices
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN, device_entry
from tests.web.console_client import form_token, post_form, sign_in

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def new_device(**changes: str) -> dict[str, Any]:
    """The add form as a person fills it in: a Camden monitor with one metric."""
    form: dict[str, Any] = {
        "public_id": "camden-aq-0042",
        "name": "Kerbside air monitor",
        "description": "Measures nitrogen dioxide.",
        "status": "active",
        "place": "lamp post 7, Euston Road",
        "latitude": "51.5281",
        "longitude": "-0.1337",
        "installed_on": "2026-06-01",
        "technology": ["air_quality"],
        "purposes": ["health"],
        "data_types": ["values_time"],
        "metrics-0-key": "no2",
        "metrics-0-label": "Nitrogen dioxide",
        "metrics-0-unit": "ug/m3",
        "metrics-0-value_kind": "number",
        "metrics-0-retention": "30 days",
        "metrics-0-open_data": "yes",
    }
    form.update(changes)
    return form


def edit_form(client: FlaskClient, public_id: str = "camden-aq-0001") -> dict[str, Any]:
    """The edit form's fields as the page fills them in (text, selected, checked, hidden)."""
    page = client.get(f"/console/devices/{public_id}/edit").get_data(as_text=True)
    fields: dict[str, Any] = {}
    for tag in re.findall(r"<input [^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name is None or name[1] == "csrf_token":
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                fields.setdefault(name[1], []).append(html.unescape(value[1]) if value else "")
        else:
            fields[name[1]] = html.unescape(value[1]) if value else ""
    for name, body in re.findall(
        r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        fields[name] = chosen[1] if chosen else ""
    described = re.search(r'<textarea[^>]*name="description"[^>]*>(.*?)</textarea>', page, re.S)
    fields["description"] = html.unescape(described[1]) if described else ""
    return fields


def snapshot(settings: Settings) -> list[list[tuple[Any, ...]]]:
    """Every row of the tables a device change writes."""
    with db.connect(settings) as conn:
        return [
            conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in ("devices", "device_metrics", "audit_events")
        ]


def stored(settings: Settings, public_id: str) -> dict[str, Any] | None:
    with db.connect(settings) as conn:
        return devices.get_device(conn, public_id)


def text_of(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_list_shows_ones_own_organisations_devices_only(
    client: FlaskClient, engineer: str
) -> None:
    assert client.get("/console/devices").headers["Location"].startswith("/console/login")
    sign_in(client, engineer)
    response = client.get("/console/devices")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/devices/camden-aq-0001"' in page
    assert 'href="/console/devices/camden-aq-0001/edit"' in page
    assert 'href="/console/devices/new"' in page
    assert "lamp post 42, Camden High Street" in page and "<td>2</td>" in page
    assert "hackney-aq-0001" not in page


def test_adding_a_device_saves_it_through_the_schema_with_the_person_in_its_audit_event(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    response = post_form(client, "/console/devices/new", new_device())
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/devices?saved=camden-aq-0042&done=added"
    entry = stored(web_settings, "camden-aq-0042")
    assert entry is not None
    assert entry["organisation"] == "camden" and entry["latitude"] == 51.5281
    # The factory's first metric is the one the form declared.
    assert entry["metrics"] == device_entry()["metrics"][:1]
    with db.connect(web_settings) as conn:
        event = conn.execute(
            "SELECT e.action, e.actor, u.email FROM audit_events e JOIN users u"
            " ON u.id = e.actor_user_id ORDER BY e.id DESC LIMIT 1"
        ).fetchone()
    assert event == ("create", f"ada <{engineer}>", engineer)
    listed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Device camden-aq-0042 was added." in listed
    assert '<a href="/devices/camden-aq-0042">its public page</a>' in listed


def test_each_error_shows_by_its_field_in_the_summary_and_what_was_typed_is_kept(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    before = snapshot(web_settings)
    # Row 1 is left blank, so the register's metrics[1] is the form's row 2.
    form = new_device(
        latitude="151.5",
        longitude="west",
        installed_on="31/02/2026",
        purposes=[],
        **{
            "metrics-1-key": "",
            "metrics-1-label": "",
            "metrics-1-unit": "",
            "metrics-1-value_kind": "number",
            "metrics-1-retention": "",
            "metrics-2-key": "pm10",
            "metrics-2-label": "PM10",
            "metrics-2-unit": "ugm3",
            "metrics-2-retention": "a while",
        },
    )
    response = post_form(client, "/console/devices/new", form)
    page = text_of(response)
    assert response.status_code == 400
    assert snapshot(web_settings) == before
    expected = {
        "latitude": "Latitude: must be between -90 and 90 (WGS84 degrees)",
        "longitude": "Longitude: not a valid number",
        "installed_on": "Installed on: not a valid date",
        "purposes": "Purposes (1 to 3): name between 1 and 3 purposes",
        "metrics-2-unit": "Metric 3, unit: 'ugm3' is not a SenML unit",
        "metrics-2-retention": "Metric 3, kept for: ",
    }
    for field, words in expected.items():
        assert f'<a href="#{field}">{words}' in page, re.findall(r"<li>.*?</li>", page)[7:]
        assert re.search(f'<p class="field-error" id="{field}-error">{re.escape(words)}', page)
        assert re.search(f'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"', page), field
    assert 'id="latitude" name="latitude" type="text" value="151.5"' in page
    assert 'value="ugm3"' in page and 'value="a while"' in page and 'value="pm10"' in page
    assert 'value="Kerbside air monitor"' in page and 'value="air_quality" checked' in page
    assert 'name="metrics-1-key"' in page  # the blank row stays


def test_an_error_without_a_field_of_its_own_is_in_the_summary(
    client: FlaskClient, engineer: str
) -> None:
    sign_in(client, engineer)
    form = new_device(
        **{
            "metrics-1-key": "no2",
            "metrics-1-label": "NO2 again",
            "metrics-1-unit": "ug/m3",
            "metrics-1-retention": "P1D",
        }
    )
    page = text_of(post_form(client, "/console/devices/new", form))
    assert '<a href="#metrics">Metrics: metric keys must be unique; repeated: no2</a>' in page
    taken = post_form(client, "/console/devices/new", new_device(public_id="camden-aq-0001"))
    assert taken.status_code == 400
    assert '<a href="#public_id">Public id: camden-aq-0001 is already registered</a>' in text_of(
        taken
    )


def test_adding_another_metric_row_shows_the_form_again_with_everything_typed(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    response = post_form(client, "/console/devices/new", new_device(add_metric="yes"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="metrics-1-key"' in page and 'name="metrics-2-key"' not in page
    assert 'value="Nitrogen dioxide"' in page
    # The new row's first field has the focus, so a keyboard or screen reader user is there.
    assert re.findall(r'<input id="([^"]+)"[^>]* autofocus>', page) == ["metrics-1-key"]
    assert stored(web_settings, "camden-aq-0042") is None


def test_a_form_with_too_many_metric_rows_is_refused(client: FlaskClient, engineer: str) -> None:
    sign_in(client, engineer)
    rows = {f"metrics-{n}-key": "" for n in range(201)}
    response = post_form(client, "/console/devices/new", new_device(**rows))
    assert response.status_code == 400
    assert "more than 200 metric rows" in response.get_data(as_text=True)


def test_a_metric_row_number_of_thousands_of_digits_is_refused(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    before = snapshot(web_settings)
    row = "9" * 4400  # past Python's 4,300-digit limit for int()
    response = post_form(client, "/console/devices/new", new_device(**{f"metrics-{row}-key": "x"}))
    assert response.status_code == 400
    assert "a metric row number has more than 4 digits" in response.get_data(as_text=True)
    assert snapshot(web_settings) == before


def test_a_retention_or_interval_too_long_for_any_register_is_refused_by_its_field(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    before = snapshot(web_settings)
    huge = "99999999999999999999 days"  # past what Python's timedelta holds
    form = new_device(reporting_interval=huge, **{"metrics-0-retention": huge})
    response = post_form(client, "/console/devices/new", form)
    page = text_of(response)
    assert response.status_code == 400
    assert snapshot(web_settings) == before
    expected = {
        "reporting_interval": "Reporting interval: must be 1 year at most",
        "metrics-0-retention": f"Metric 1, kept for: '{huge}' is longer than 100 years",
    }
    for field, words in expected.items():
        assert re.search(f'<p class="field-error" id="{field}-error">{re.escape(words)}', page)
    assert f'value="{huge}"' in page


def test_editing_changes_fields_and_adds_and_edits_metrics(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    form = edit_form(client)
    assert form["name"] == "Air quality monitor" and form["metrics-0-key"] == "no2"
    assert form["metrics-1-retention"] == "P365D" and form["purposes"] == [
        "health",
        "planning_decision_making",
    ]
    form.update(
        {
            "name": "Roadside air monitor",
            "metrics-0-label": "Nitrogen dioxide (NO2)",
            "metrics-1-retention": "2 years",  # longer: nothing to confirm
            "metrics-2-key": "o3",
            "metrics-2-label": "Ozone",
            "metrics-2-unit": "ug/m3",
            "metrics-2-retention": "P30D",
        }
    )
    response = post_form(client, "/console/devices/camden-aq-0001/edit", form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("saved=camden-aq-0001&done=saved")
    entry = stored(web_settings, "camden-aq-0001")
    assert entry is not None and entry["name"] == "Roadside air monitor"
    metrics = {m["key"]: m for m in entry["metrics"]}
    assert set(metrics) == {"no2", "o3", "pm2_5"}
    assert metrics["no2"]["label"] == "Nitrogen dioxide (NO2)"
    assert metrics["pm2_5"]["retention"] == "P730D" and metrics["o3"]["label"] == "Ozone"
    with db.connect(web_settings) as conn:
        changes = conn.execute(
            "SELECT changes, actor_user_id IS NOT NULL FROM audit_events ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert changes is not None and changes[1] is True
    assert set(changes[0]) == {"name", "metrics.no2.label", "metrics.pm2_5.retention", "metrics.o3"}


def confirmation_fields(page: str) -> dict[str, list[str]]:
    """The fields a confirmation page carries back, as a form posts them."""
    carried: dict[str, list[str]] = {}
    for name, value in HIDDEN.findall(page):
        if name != "csrf_token":
            carried.setdefault(name, []).append(html.unescape(value))
    return carried


def test_withdrawing_a_metric_asks_first_and_saves_exactly_what_was_confirmed(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    form = edit_form(client)
    form.update({"metrics-1-withdraw": "yes", "name": "Nitrogen dioxide monitor"})
    before = snapshot(web_settings)
    asked = post_form(client, "/console/devices/camden-aq-0001/edit", form)
    page = text_of(asked)
    assert asked.status_code == 200
    assert "Metric pm2_5 (PM2.5) will be withdrawn." in page
    assert "refuses new readings of pm2_5 from this device and keeps them in quarantine" in page
    assert "older than its last declared retention, 1 year, and are deleted" in page
    assert "(it runs every 15 minutes)" in page
    assert snapshot(web_settings) == before  # nothing changes until confirmed
    carried = confirmation_fields(page)
    assert carried["metrics-1-withdraw"] == ["yes"] and carried["name"] == [form["name"]]

    back = post_form(client, "/console/devices/camden-aq-0001/edit", {**carried, "go_back": "yes"})
    assert back.status_code == 200
    assert (
        'id="metrics-1-withdraw" name="metrics-1-withdraw" type="checkbox" value="yes" checked'
        in (back.get_data(as_text=True))
    )
    assert 'value="Nitrogen dioxide monitor"' in back.get_data(as_text=True)
    assert snapshot(web_settings) == before

    done = post_form(
        client, "/console/devices/camden-aq-0001/edit", {**carried, "confirmed": "yes"}
    )
    assert done.status_code == 302
    entry = stored(web_settings, "camden-aq-0001")
    assert entry is not None and [m["key"] for m in entry["metrics"]] == ["no2"]
    assert entry["name"] == "Nitrogen dioxide monitor"
    with db.connect(web_settings) as conn:
        withdrawn = conn.execute(
            "SELECT withdrawn_at IS NOT NULL FROM device_metrics WHERE key = 'pm2_5'"
            " AND device_id = (SELECT id FROM devices WHERE public_id = 'camden-aq-0001')"
        ).fetchone()
    assert withdrawn == (True,)


def asked_then_confirmed(
    client: FlaskClient, settings: Settings, form: dict[str, Any], said: str
) -> dict[str, Any]:
    """Save the edit form: the confirmation page must say `said` and change nothing; confirming
    must save. The device's entry as saved."""
    before = snapshot(settings)
    asked = post_form(client, "/console/devices/camden-aq-0001/edit", form)
    page = text_of(asked)
    assert asked.status_code == 200
    assert said in page
    assert snapshot(settings) == before
    done = post_form(
        client,
        "/console/devices/camden-aq-0001/edit",
        {**confirmation_fields(page), "confirmed": "yes"},
    )
    assert done.status_code == 302
    entry = stored(settings, "camden-aq-0001")
    assert entry is not None
    return entry


def test_shortening_a_retention_asks_first_and_says_what_will_be_deleted(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    form = edit_form(client)
    form["metrics-1-retention"] = "30 days"
    entry = asked_then_confirmed(
        client,
        web_settings,
        form,
        "Readings of pm2_5 older than 30 days will be deleted at the next retention run "
        "(it runs every 15 minutes); until now they were kept for 1 year.",
    )
    assert entry["metrics"][1]["retention"] == "P30D"


def test_suspending_an_active_device_asks_first_as_its_messages_will_be_refused(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    form = edit_form(client)
    assert form["status"] == "active"
    entry = asked_then_confirmed(
        client,
        web_settings,
        {**form, "status": "suspended"},
        "Its status changes from active to suspended: from then on the ingester refuses every "
        "message from this device and keeps it in quarantine",
    )
    assert entry["status"] == "suspended"


def test_declaring_a_withdrawn_metric_again_with_a_shorter_retention_asks_first(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    """Its stored readings follow the new retention, so the form says they will be deleted."""
    with db.connect(web_settings) as conn, conn.transaction():
        entry = devices.get_device(conn, "camden-aq-0001") or {}
        entry["metrics"] = [m for m in entry["metrics"] if m["key"] != "pm2_5"]
        devices.update_device(conn, "camden-aq-0001", entry, ADMIN)
    sign_in(client, engineer)
    form = edit_form(client)
    form.update(
        {
            "metrics-1-key": "pm2_5",
            "metrics-1-label": "PM2.5",
            "metrics-1-unit": "ug/m3",
            "metrics-1-retention": "7 days",
        }
    )
    before = snapshot(web_settings)
    asked = post_form(client, "/console/devices/camden-aq-0001/edit", form)
    page = text_of(asked)
    assert asked.status_code == 200
    assert (
        "Readings of pm2_5 older than 1 week will be deleted at the next retention run "
        "(it runs every 15 minutes); pm2_5 was withdrawn earlier, and its stored readings were "
        "kept for 1 year" in page
    )
    assert snapshot(web_settings) == before
    # With the retention it had, nothing is deleted, and nothing is asked.
    same = post_form(
        client, "/console/devices/camden-aq-0001/edit", {**form, "metrics-1-retention": "1 year"}
    )
    assert same.status_code == 302
    saved = stored(web_settings, "camden-aq-0001")
    assert saved is not None and [m["key"] for m in saved["metrics"]] == ["no2", "pm2_5"]


def test_the_form_does_not_decommission_a_device_its_own_page_does(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    form = edit_form(client)
    page = client.get("/console/devices/camden-aq-0001/edit").get_data(as_text=True)
    status = re.search(r'<select id="status".*?</select>', page, re.S)
    assert status is not None and 'value="decommissioned"' not in status[0]
    assert 'name="decommissioned_on"' not in page
    before = snapshot(web_settings)
    crafted = {**form, "status": "decommissioned", "decommissioned_on": "2026-11-01"}
    refused = post_form(client, "/console/devices/camden-aq-0001/edit", crafted)
    assert refused.status_code == 400
    assert "a device is decommissioned on its own page" in text_of(refused)
    assert 'id="status-error"' in refused.get_data(as_text=True)
    new = post_form(
        client,
        "/console/devices/new",
        new_device(status="decommissioned", decommissioned_on="2026-11-01"),
    )
    assert new.status_code == 400
    assert "a new device cannot start decommissioned" in text_of(new)
    assert snapshot(web_settings) == before


def test_a_form_opened_before_someone_elses_change_saves_nothing(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    form = edit_form(client)
    with db.connect(web_settings) as conn, conn.transaction():
        devices.update_device(
            conn, "camden-aq-0001", device_entry(place="lamp post 43, Camden High Street"), ADMIN
        )
    before = snapshot(web_settings)
    form["name"] = "My new name"
    response = post_form(client, "/console/devices/camden-aq-0001/edit", form)
    page = text_of(response)
    assert response.status_code == 409
    assert "changed by someone else since you opened it" in page
    assert '<a href="/console/devices/camden-aq-0001/edit">Open it again as it is now</a>' in page
    assert 'value="My new name"' in page
    assert snapshot(web_settings) == before
    # A version that is no version at all is stale too.
    assert (
        post_form(
            client, "/console/devices/camden-aq-0001/edit", {**form, "version": ""}
        ).status_code
        == 409
    )


def test_decommissioning_asks_for_a_date_and_archives_the_device(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    page = text_of(client.get("/console/devices/camden-aq-0001/decommission"))
    assert "From then on the ingester refuses every message from it" in page
    assert "no2 after 30 days, pm2_5 after 1 year." in page
    version = re.search(r'name="version" value="([^"]+)"', page)
    assert version is not None
    path = "/console/devices/camden-aq-0001/decommission"
    before = snapshot(web_settings)
    for typed, words in [
        ("yesterday", "Date: must be a date, such as 2026-11-29"),
        ("2026-01-01", "Date: must not be before installed_on"),
        (
            "2099-01-01",
            "Date: must not be in the future: a device is decommissioned once it is out of service",
        ),
    ]:
        refused = post_form(client, path, {"decommissioned_on": typed, "version": version[1]})
        assert refused.status_code == 400
        assert f'<a href="#decommissioned_on">{words}</a>' in text_of(refused)
        assert f'value="{typed}"' in text_of(refused)
    stale = post_form(client, path, {"decommissioned_on": "2026-11-20", "version": "0" * 32})
    assert stale.status_code == 409
    assert "changed by someone else since you opened it" in text_of(stale)
    assert snapshot(web_settings) == before
    done = post_form(client, path, {"decommissioned_on": "2026-11-20", "version": version[1]})
    assert done.status_code == 302
    assert done.headers["Location"].endswith("done=decommissioned")
    entry = stored(web_settings, "camden-aq-0001")
    assert entry is not None and entry["status"] == "decommissioned"
    assert entry["decommissioned_on"] == "2026-11-20"
    public = text_of(client.get("/devices/camden-aq-0001"))
    assert "Decommissioned: removed from service" in public and "2026-11-20" in public
    # Its entry is archived: its edit page says so, and has no form to save.
    edit = text_of(client.get("/console/devices/camden-aq-0001/edit"))
    assert "decommissioned on 2026-11-20: its entry is archived and cannot change." in edit
    assert "<form" not in edit.split('aria-label="Console"')[1].split("</nav>")[1]


def test_another_organisations_device_cannot_be_opened_or_changed(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    before = snapshot(web_settings)
    for path in (
        "/console/devices/hackney-aq-0001/edit",
        "/console/devices/hackney-aq-0001/decommission",
    ):
        refused = client.get(path)
        assert refused.status_code == 403
        assert "belongs to another organisation" in text_of(refused)
    token = form_token(client, "/console/")
    theirs = "device hackney-aq-0001 belongs to another organisation"
    ours_only = "you may only add and change the devices of London Borough of Camden"
    for path, data, words in [
        ("/console/devices/hackney-aq-0001/edit", new_device(public_id="hackney-aq-0001"), theirs),
        (
            "/console/devices/hackney-aq-0001/decommission",
            {"decommissioned_on": "2026-11-20"},
            theirs,
        ),
        ("/console/devices/new", {**new_device(), "organisation": "hackney"}, ours_only),
        (
            "/console/devices/camden-aq-0001/edit",
            {**edit_form(client), "organisation": "hackney", "name": "Taken over"},
            ours_only,
        ),
    ]:
        refused = client.post(path, data={**data, "csrf_token": token})
        assert refused.status_code == 403, path
        assert words in text_of(refused), path
    assert snapshot(web_settings) == before
    for path in (
        "/console/devices/camden-aq-9999/edit",
        "/console/devices/camden-aq-9999/decommission",
    ):
        assert client.get(path).status_code == 404
        assert client.post(path, data={"csrf_token": token}).status_code == 404
    assert snapshot(web_settings) == before


def test_a_device_form_without_its_token_is_refused(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    before = snapshot(web_settings)
    assert client.post("/console/devices/new", data=new_device()).status_code == 403
    assert snapshot(web_settings) == before


def test_saving_the_form_as_it_was_opened_writes_nothing(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    before = snapshot(web_settings)
    response = post_form(client, "/console/devices/camden-aq-0001/edit", edit_form(client))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("saved=camden-aq-0001&done=unchanged")
    assert snapshot(web_settings) == before
    assert "Nothing changed on camden-aq-0001" in text_of(client.get(response.headers["Location"]))
