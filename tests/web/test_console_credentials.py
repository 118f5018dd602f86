"""A device's MQTT credential in the console: issued from its edit page (the password shown once,
only its `$7$` hash stored), replaced, revoked after confirming, never for a decommissioned
device nor another organisation's, every form with its token; and in a real browser, with axe."""

from __future__ import annotations

import html
import re
from typing import Any

from flask.testing import FlaskClient
from playwright.sync_api import Page
from werkzeug.test import TestResponse

from register import devices
from register.credentials import device_credentials, mosquitto_hash
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN
from tests.web.conftest import axe_violations, sign_in_with_the_browser
from tests.web.console_client import post_form, sign_in

EDIT = "/console/devices/camden-aq-0001/edit"
ISSUE = "/console/devices/camden-aq-0001/credential"
REVOKE = "/console/devices/camden-aq-0001/credential/revoke"
PASSWORD = re.compile(r'id="password" [^>]*value="([^"]+)"')
ENGINEER = "ada &lt;ada@camden.gov.uk&gt;"
# device_credentials' columns, in their order (migration 0014).
COLUMNS = ("id", "device_id", "password_hash", "issued_at", "issued_by", "revoked_at", "revoked_by")
ISSUED_BY, REVOKED_AT, REVOKED_BY = (COLUMNS.index(c) for c in COLUMNS[4:])


def stored_credentials(settings: Settings) -> list[tuple[Any, ...]]:
    with db.connect(settings) as conn:
        return conn.execute("SELECT * FROM device_credentials ORDER BY id").fetchall()


def active_hash(settings: Settings, public_id: str = "camden-aq-0001") -> str | None:
    with db.connect(settings) as conn:
        row = conn.execute(
            """SELECT c.password_hash FROM device_credentials c
                 JOIN devices d ON d.id = c.device_id
                WHERE d.public_id = %s AND c.revoked_at IS NULL""",
            (public_id,),
        ).fetchone()
    return row[0] if row else None


def issue_directly(settings: Settings, public_id: str) -> str:
    """A credential issued from the command line; its password."""
    with db.connect(settings) as conn, conn.transaction():
        return device_credentials.issue(conn, public_id, ADMIN).password


def password_on(answer: TestResponse) -> str:
    found = PASSWORD.search(answer.get_data(as_text=True))
    assert found, "no password on the page"
    return html.unescape(found[1])


def credential_cell(client: FlaskClient, public_id: str) -> str:
    """The devices list's MQTT credential cell for the device."""
    listing = client.get("/console/devices").get_data(as_text=True)
    row = re.search(rf"<code>{public_id}</code>.*?</tr>", listing, re.S)
    assert row, f"{public_id} is not listed"
    cells = re.findall(r"<td>(.*?)</td>", row[0], re.S)
    return cells[-2]


def test_issuing_shows_the_password_once_and_the_register_keeps_only_its_hash(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    before = client.get(EDIT).get_data(as_text=True)
    assert "It has no working credential." in before
    assert ">Issue a credential</button>" in before
    assert "No device credential has been issued in this register yet." in before
    assert credential_cell(client, "camden-aq-0001") == "none"
    made = post_form(client, ISSUE, {}, form_page=EDIT)
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    page = made.get_data(as_text=True)
    password = password_on(made)
    assert len(password) >= 32
    assert 'id="username" class="token-secret" type="text" readonly value="camden-aq-0001"' in page
    assert "shown only this once" in page and "The register keeps only a hash of it" in page
    assert "<code>lamplighter/camden/camden-aq-0001/up</code>" in page
    assert "<code>lamplighter/camden/camden-aq-0001/senml</code>" in page
    assert "replaces the device's previous one" not in page
    assert "the register's first device credential" in page
    (row,) = stored_credentials(web_settings)
    stored = row[COLUMNS.index("password_hash")]
    assert stored.startswith("$7$") and mosquitto_hash.verify(password, stored)
    assert all(password not in str(value) for value in row)
    after = client.get(EDIT).get_data(as_text=True)
    assert "It has a working credential: username <code>camden-aq-0001</code>, issued " in after
    assert f"UTC by {ENGINEER}." in after
    assert ">Issue a new credential</button>" in after and "stops working within seconds" in after
    assert password not in after
    assert credential_cell(client, "camden-aq-0001") == "working"


def test_a_new_credential_replaces_the_old_one(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    old = issue_directly(web_settings, "camden-aq-0001")
    sign_in(client, engineer)
    made = post_form(client, ISSUE, {}, form_page=EDIT)
    assert made.status_code == 200
    assert "replaces the device's previous one" in made.get_data(as_text=True)
    assert "the register's first device credential" not in made.get_data(as_text=True)
    new = password_on(made)
    current = active_hash(web_settings)
    assert current is not None and new != old
    assert mosquitto_hash.verify(new, current) and not mosquitto_hash.verify(old, current)
    first, second = stored_credentials(web_settings)
    assert first[REVOKED_AT] is not None and first[REVOKED_BY] == "ada <ada@camden.gov.uk>"
    assert second[REVOKED_AT] is None and second[ISSUED_BY] == "ada <ada@camden.gov.uk>"


def test_a_credential_is_revoked_after_confirming(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    issue_directly(web_settings, "camden-aq-0001")
    sign_in(client, engineer)
    edit = client.get(EDIT).get_data(as_text=True)
    assert f'href="{REVOKE}">Revoke the credential of camden-aq-0001</a>' in edit
    confirm = client.get(REVOKE)
    assert confirm.status_code == 200
    assert "stops working within seconds" in confirm.get_data(as_text=True)
    assert active_hash(web_settings) is not None  # not revoked by looking
    done = post_form(client, REVOKE, {}, form_page=REVOKE)
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"{EDIT}?credential=revoked#mqtt-credential")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "The credential was revoked." in page and "It has no working credential." in page
    assert "Revoke the credential of" not in page
    assert active_hash(web_settings) is None
    (row,) = stored_credentials(web_settings)
    assert row[REVOKED_BY] == "ada <ada@camden.gov.uk>"
    again = post_form(client, REVOKE, {}, form_page=EDIT)
    assert again.headers["Location"].endswith(f"{EDIT}?credential=none#mqtt-credential")
    assert "had no working credential" in client.get(again.headers["Location"]).get_data(
        as_text=True
    )
    assert "nothing to revoke" in client.get(REVOKE).get_data(as_text=True)


def test_a_decommissioned_device_is_given_no_credential(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        devices.decommission_device(conn, "camden-aq-0001", ADMIN)
    sign_in(client, engineer)
    page = client.get(EDIT).get_data(as_text=True)
    assert "A decommissioned device is given no credential" in page
    assert "Issue a" not in page and 'action="/console/devices/camden-aq-0001/credential"' not in (
        page
    )
    refused = post_form(client, ISSUE, {}, form_page=EDIT)
    assert refused.status_code == 409
    assert "is decommissioned; it gets no credential" in refused.get_data(as_text=True)
    assert stored_credentials(web_settings) == []


def test_another_organisations_device_is_403_and_its_credential_unchanged(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    issue_directly(web_settings, "hackney-aq-0001")
    before = stored_credentials(web_settings)
    sign_in(client, engineer)
    theirs = "/console/devices/hackney-aq-0001/credential"
    assert client.get(f"{theirs}/revoke").status_code == 403
    issued = post_form(client, theirs, {})
    assert issued.status_code == 403
    assert "not hackney" in issued.get_data(as_text=True)
    assert "token-secret" not in issued.get_data(as_text=True)
    assert post_form(client, f"{theirs}/revoke", {}).status_code == 403
    assert client.get("/console/devices/hackney-aq-0001/edit").status_code == 403
    assert "hackney-aq-0001" not in client.get("/console/devices").get_data(as_text=True)
    assert post_form(client, "/console/devices/camden-aq-9999/credential", {}).status_code == 404
    assert client.get("/console/devices/camden-aq-9999/credential/revoke").status_code == 404
    assert stored_credentials(web_settings) == before


def test_the_credential_forms_need_a_session_and_their_token(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    issue_directly(web_settings, "camden-aq-0001")
    before = stored_credentials(web_settings)
    outside = client.get(REVOKE)
    assert outside.status_code == 302 and "/console/login" in outside.headers["Location"]
    assert client.post(ISSUE, data={}).status_code == 403
    sign_in(client, engineer)
    for path in (ISSUE, REVOKE):
        assert client.post(path, data={}).status_code == 403
        forged = client.post(path, data={"csrf_token": "forged"})
        assert forged.status_code == 403
        assert "security token is missing or out of date" in forged.get_data(as_text=True)
    assert stored_credentials(web_settings) == before


def test_the_credential_pages_work_in_a_browser_and_pass_axe(
    page: Page, live_server: str, engineer: str, web_settings: Settings
) -> None:
    sign_in_with_the_browser(page, live_server, engineer, "/console/devices")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Edit camden-aq-0001").click()
    section = page.locator("#mqtt-credential")
    assert "It has no working credential." in section.inner_text()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Issue a credential").click()
    assert page.get_by_label("Username").input_value() == "camden-aq-0001"
    password = page.get_by_label("Password").input_value()
    stored = active_hash(web_settings)
    assert stored is not None and mosquitto_hash.verify(password, stored)
    assert axe_violations(page) == []
    page.get_by_role("link", name="Back to camden-aq-0001").click()
    assert "It has a working credential" in section.inner_text()
    assert password not in page.content()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Issue a new credential").click()
    assert "replaces the device's previous one" in page.inner_text("main")
    replaced = page.get_by_label("Password").input_value()
    assert replaced != password
    page.get_by_role("link", name="Back to camden-aq-0001").click()
    page.get_by_role("link", name="Revoke the credential of camden-aq-0001").click()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Revoke the credential of camden-aq-0001").click()
    assert "The credential was revoked." in section.inner_text()
    assert axe_violations(page) == []
    assert active_hash(web_settings) is None
