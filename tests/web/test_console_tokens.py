"""The console's API tokens page: make a token (shown once, stored hashed), errors by their
fields, revoke after confirming, never another organisation's; and in a real browser, with axe."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Page

from register.accounts import api_tokens
from register.audit import Actor
from register.platform import db
from register.platform.config import Settings
from tests.web.conftest import axe_violations, sign_in_with_the_browser
from tests.web.console_client import post_form, sign_in

SECRET = re.compile(r"llt_[A-Za-z0-9_-]{43}")


def stored_tokens(settings: Settings) -> list[tuple[Any, ...]]:
    with db.connect(settings) as conn:
        return conn.execute("SELECT * FROM api_tokens ORDER BY id").fetchall()


def revoked_at(settings: Settings) -> Any:
    with db.connect(settings) as conn:
        (moment,) = conn.execute("SELECT revoked_at FROM api_tokens").fetchone() or (None,)
    return moment


def token_of(settings: Settings, organisation: str, name: str) -> int:
    with db.connect(settings) as conn, conn.transaction():
        token_id, _ = api_tokens.create(
            conn, organisation=organisation, name=name, made_by=Actor.command_line()
        )
    return token_id


def test_a_token_is_shown_once_then_listed_by_its_prefix_never_its_secret(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    made = post_form(client, "/console/tokens", {"name": "gateway-sync", "expires": ""})
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    html = made.get_data(as_text=True)
    found = SECRET.search(html)
    assert found and "shown only this once" in html
    secret = found[0]
    with db.connect(web_settings) as conn, conn.transaction():
        assert api_tokens.authenticate(conn, secret).organisation == "camden"
    listing = client.get("/console/tokens").get_data(as_text=True)
    assert "gateway-sync" in listing and f"<code>{secret[:12]}</code>" in listing
    assert "ada &lt;ada@camden.gov.uk&gt;" in listing
    assert secret not in listing and secret[12:] not in listing
    (row,) = stored_tokens(web_settings)
    assert all(secret[12:20] not in str(value) for value in row)


def test_a_wrong_name_or_date_is_shown_by_its_field_keeping_what_was_typed(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    sign_in(client, engineer)
    answer = post_form(client, "/console/tokens", {"name": "  ", "expires": "31/12/2027"})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    assert '<a href="#name">Give the token a name' in html
    assert '<a href="#expires">Give the date as YYYY-MM-DD' in html
    assert 'aria-describedby="name-hint name-error" aria-invalid="true"' in html
    assert 'value="31/12/2027"' in html
    past = post_form(client, "/console/tokens", {"name": "late", "expires": "2020-01-01"})
    assert past.status_code == 400
    assert "The expiry date is in the past" in past.get_data(as_text=True)
    assert 'value="late"' in past.get_data(as_text=True)
    far = post_form(client, "/console/tokens", {"name": "far", "expires": "9999-12-31"})
    assert far.status_code == 400
    assert '<a href="#expires">The expiry date is more than 10 years ahead' in far.get_data(
        as_text=True
    )
    assert 'value="9999-12-31"' in far.get_data(as_text=True)
    assert stored_tokens(web_settings) == []


def test_a_token_is_revoked_after_confirming(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    token_id = token_of(web_settings, "camden", "old-gateway")
    sign_in(client, engineer)
    listing = client.get("/console/tokens").get_data(as_text=True)
    assert f'href="/console/tokens/{token_id}/revoke">Revoke old-gateway</a>' in listing
    confirm = client.get(f"/console/tokens/{token_id}/revoke")
    assert "will stop working at once" in confirm.get_data(as_text=True)
    assert revoked_at(web_settings) is None  # not revoked by looking
    done = post_form(client, f"/console/tokens/{token_id}/revoke", {})
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/console/tokens?revoked={token_id}")
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "The token old-gateway is revoked" in page
    assert revoked_at(web_settings) is not None


def test_another_organisations_token_is_403_and_unchanged(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    theirs = token_of(web_settings, "hackney", "hackney-gateway")
    before = stored_tokens(web_settings)
    sign_in(client, engineer)
    assert "hackney-gateway" not in client.get("/console/tokens").get_data(as_text=True)
    assert client.get(f"/console/tokens/{theirs}/revoke").status_code == 403
    refused = post_form(client, f"/console/tokens/{theirs}/revoke", {})
    assert refused.status_code == 403
    assert "not London Borough of Hackney" in refused.get_data(as_text=True)
    assert post_form(client, f"/console/tokens/{theirs + 1}/revoke", {}).status_code == 404
    assert stored_tokens(web_settings) == before


def test_the_tokens_page_needs_a_session_and_its_forms_their_token(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    answer = client.get("/console/tokens")
    assert answer.status_code == 302 and "/console/login" in answer.headers["Location"]
    sign_in(client, engineer)
    assert client.post("/console/tokens", data={"name": "forged"}).status_code == 403
    assert stored_tokens(web_settings) == []


def test_the_tokens_pages_work_in_a_browser_and_pass_axe(
    page: Page, live_server: str, engineer: str, web_settings: Settings
) -> None:
    sign_in_with_the_browser(page, live_server, engineer, "/console/tokens")
    assert page.url.endswith("/console/tokens")
    assert "has no API tokens yet" in page.inner_text("main")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Make the token").click()
    assert "The token was not made" in page.inner_text(".error-summary")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Give the token a name").click()
    assert page.evaluate("document.activeElement.id") == "name"
    page.get_by_label("Name").fill("gateway-sync")
    page.get_by_role("button", name="Make the token").click()
    secret = page.get_by_label("The token").input_value()
    assert SECRET.fullmatch(secret)
    assert axe_violations(page) == []
    page.get_by_role("link", name="Back to your organisation's tokens").click()
    assert secret not in page.content()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Revoke gateway-sync").click()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Revoke gateway-sync").click()
    assert "The token gateway-sync is revoked" in page.inner_text("main")
    assert axe_violations(page) == []
    with db.connect(web_settings) as conn, pytest.raises(api_tokens.Refused):
        api_tokens.authenticate(conn, secret)
