"""The administrators' pages: organisations (list, create, edit) and accounts across
organisations (list, add with a one-time link, a new link, disable), for administrators only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Page

from register.platform import db
from register.platform.config import Settings
from register.schemas import ORGANISATION_KINDS
from tests.register.factories import organisation_entry
from tests.web.conftest import axe_violations, sign_in_with_the_browser
from tests.web.console_client import PASSWORD, add_account, form_token, post_form, sign_in
from web.views.console.admin import KIND_NAMES

ADMIN = "root@camden.gov.uk"
LINK = re.compile(r"http://[^<\s]+/console/password/([A-Za-z0-9_-]+)")


@pytest.fixture
def admin(engineer: str, web_settings: Settings) -> str:
    """An administrator of Camden (beside the engineer ada@camden.gov.uk); their email."""
    return add_account(web_settings, "camden", ADMIN, "admin")


@pytest.fixture
def as_admin(client: FlaskClient, admin: str) -> FlaskClient:
    assert sign_in(client, admin).status_code == 302  # type: ignore[attr-defined]
    return client


def _rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with db.connect(settings) as conn, conn.transaction():
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def _everything(settings: Settings) -> list[list[tuple[Any, ...]]]:
    """What an administrators' page could change: organisations, accounts, links, open
    sessions and the audit log."""
    return [
        _rows(settings, "SELECT * FROM organisations ORDER BY id"),
        _rows(settings, "SELECT * FROM users ORDER BY id"),
        _rows(settings, "SELECT * FROM password_links ORDER BY id"),
        _rows(settings, "SELECT id, user_id, ended_at FROM user_sessions ORDER BY id"),
        _rows(settings, "SELECT * FROM audit_events ORDER BY id"),
    ]


def _events(settings: Settings, entity: str) -> list[tuple[Any, ...]]:
    return _rows(
        settings,
        "SELECT action, actor, actor_user_id, changes, note FROM audit_events"
        f" WHERE entity = '{entity}' ORDER BY id",
    )


def _user_id(settings: Settings, email: str) -> int:
    found = _rows(settings, f"SELECT id FROM users WHERE email = '{email}'")
    return int(found[0][0])


def _page(response: Any) -> str:
    text: str = response.get_data(as_text=True)
    return text


def _field_error(page: str, field: str) -> str:
    """The error shown beside a field, after checking the field points at it and the summary
    at the top links to the field."""
    beside = re.search(rf'<span class="field-error" id="{field}-error">([^<]+)</span>', page)
    assert beside, f"no error beside {field}"
    assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"', page)
    summary = page.split('class="console-form"', maxsplit=1)[0]  # above the form
    assert f'href="#{field}"' in summary
    return beside[1]


ORGANISATION_FORM = {
    "slug": "islington",
    "name": "London Borough of Islington",
    "kind": "borough",
    "contact_email": "sensors@islington.gov.uk",
    "privacy_notice_url": "https://www.islington.gov.uk/privacy",
    "dpo_contact": "",
    "website": "",
}


def test_every_kind_of_organisation_has_a_plain_english_name() -> None:
    assert set(KIND_NAMES) == set(ORGANISATION_KINDS)
    assert all(" " in name or name[0].isupper() for name in KIND_NAMES.values())


def _refused_to_an_engineer(response: Any, path: str) -> None:
    """A 403 for not being an administrator (not for a missing or wrong form token)."""
    assert response.status_code == 403, path
    assert "only the register&#39;s administrators may do this" in _page(response), path
    # The page still knows who is signed in: the console's navigation stays, and its footer
    # leads back to the console.
    assert 'aria-label="Console"' in _page(response), path
    assert '<a href="/console/">back to the console</a>' in _page(response), path


def test_an_engineer_gets_403_on_every_administrators_page_and_action_and_nothing_changes(
    client: FlaskClient, engineer: str, admin: str, web_settings: Settings
) -> None:
    assert sign_in(client, engineer).status_code == 302  # type: ignore[attr-defined]
    ada = _user_id(web_settings, engineer)
    root = _user_id(web_settings, admin)
    before = _everything(web_settings)
    for path in [
        "/console/admin",
        "/console/admin/organisations/new",
        "/console/admin/organisations/camden",
        "/console/admin/accounts",
        "/console/admin/accounts?organisation=camden",
        "/console/admin/accounts/new",
        f"/console/admin/accounts/{root}/disable",
    ]:
        _refused_to_an_engineer(client.get(path), path)
    for path, data in [
        ("/console/admin/organisations/new", ORGANISATION_FORM),
        ("/console/admin/organisations/hackney", {**organisation_entry("hackney"), "name": "X"}),
        (
            "/console/admin/accounts/new",
            {"organisation": "camden", "email": "eve@camden.gov.uk", "role": "admin"},
        ),
        (f"/console/admin/accounts/{root}/reset", {}),
        (f"/console/admin/accounts/{ada}/reset", {}),
        (f"/console/admin/accounts/{root}/disable", {}),
    ]:
        # With the session's own valid form token, so the 403 is the administrators-only one.
        _refused_to_an_engineer(post_form(client, path, data), path)
    assert _everything(web_settings) == before
    home = _page(client.get("/console/"))
    assert "/console/admin" not in home  # neither in the navigation nor on the home page


def test_the_administrators_pages_need_a_sign_in(client: FlaskClient, admin: str) -> None:
    response = client.get("/console/admin/accounts")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login?next=/console/admin/accounts")


def test_the_organisations_list_shows_kinds_in_words_and_counts_devices_and_accounts(
    as_admin: FlaskClient,
) -> None:
    response = as_admin.get("/console/admin")
    page = _page(response)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    rows = {
        m[1]: m[2]
        for m in re.finditer(r"<code>([a-z-]+)</code></td>(.*?)</tr>", page, flags=re.DOTALL)
    }
    assert set(rows) == {"camden", "hackney"}
    cells = {slug: re.findall(r"<td>([^<]*)", rest) for slug, rest in rows.items()}
    # Kind, contact, devices, then the accounts' link.
    assert cells["camden"][:3] == ["London borough", "sensors@camden.gov.uk", "1"]
    assert ">2<span" in rows["camden"] and ">0<span" in rows["hackney"]
    home = _page(as_admin.get("/console/"))
    assert "<h2>Administration</h2>" in home and 'href="/console/admin"' in home


def test_an_administrator_adds_an_organisation_and_it_leaves_its_audit_event(
    as_admin: FlaskClient, admin: str, web_settings: Settings
) -> None:
    form = as_admin.get("/console/admin/organisations/new")
    assert form.status_code == 200 and '<option value="borough" selected>' in _page(form)
    added = post_form(as_admin, "/console/admin/organisations/new", ORGANISATION_FORM)
    assert added.status_code == 302
    assert added.headers["Location"] == "/console/admin?saved=islington"
    assert "Saved London Borough of Islington." in _page(as_admin.get(added.headers["Location"]))
    assert _rows(
        web_settings,
        "SELECT slug, name, kind, contact_email, privacy_notice_url, dpo_contact, website"
        " FROM organisations WHERE slug = 'islington'",
    ) == [
        (
            "islington",
            "London Borough of Islington",
            "borough",
            "sensors@islington.gov.uk",
            "https://www.islington.gov.uk/privacy",
            None,
            None,
        )
    ]
    action, actor, actor_id, changes, _ = _events(web_settings, "organisation")[-1]
    assert (action, actor_id) == ("create", _user_id(web_settings, admin))
    assert actor.endswith("<root@camden.gov.uk> (administrator)")
    assert changes["name"] == {"before": None, "after": "London Borough of Islington"}


def test_a_new_organisation_with_bad_fields_shows_each_error_by_its_field_and_keeps_the_input(
    as_admin: FlaskClient, web_settings: Settings
) -> None:
    before = _everything(web_settings)
    bad = {
        "slug": "Not A Slug",
        "name": "  ",
        "kind": "castle",
        "contact_email": "not-an-address",
        "privacy_notice_url": "ftp://example.org/privacy",
        "dpo_contact": "the DPO",
        "website": "",
    }
    refused = post_form(as_admin, "/console/admin/organisations/new", bad)
    page = _page(refused)
    assert refused.status_code == 422
    assert "There is a problem" in page
    assert "not a valid organisation slug" in _field_error(page, "slug")
    assert _field_error(page, "name") == "must not be blank"
    assert "must be one of" in _field_error(page, "kind")
    assert "email" in _field_error(page, "contact_email")
    assert "URL" in _field_error(page, "privacy_notice_url")
    assert "website-error" not in page and "dpo_contact-error" not in page
    assert 'value="Not A Slug"' in page and 'value="the DPO"' in page  # input kept
    assert 'value="ftp://example.org/privacy"' in page
    assert _everything(web_settings) == before


def test_a_slug_already_taken_is_an_error_by_the_slug(
    as_admin: FlaskClient, web_settings: Settings
) -> None:
    before = _everything(web_settings)
    taken = post_form(
        as_admin, "/console/admin/organisations/new", {**ORGANISATION_FORM, "slug": "camden"}
    )
    assert taken.status_code == 422
    assert _field_error(_page(taken), "slug") == "organisation camden already exists"
    assert _everything(web_settings) == before


def test_editing_an_organisation_keeps_its_slug_and_records_what_changed(
    as_admin: FlaskClient, web_settings: Settings
) -> None:
    form = _page(as_admin.get("/console/admin/organisations/hackney"))
    assert 'value="London Borough of Hackney"' in form and 'name="slug"' not in form
    changed = {**organisation_entry("hackney"), "website": "", "name": "Hackney Council"}
    # A slug sent anyway is ignored: the address names the organisation.
    saved = post_form(
        as_admin, "/console/admin/organisations/hackney", {**changed, "slug": "elsewhere"}
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith("saved=hackney")
    assert _rows(web_settings, "SELECT slug, name FROM organisations ORDER BY id") == [
        ("camden", "London Borough of Camden"),
        ("hackney", "Hackney Council"),
    ]
    action, _, _, changes, _ = _events(web_settings, "organisation")[-1]
    assert action == "update"
    assert changes == {"name": {"before": "London Borough of Hackney", "after": "Hackney Council"}}


def test_editing_an_organisation_with_a_bad_field_changes_nothing(
    as_admin: FlaskClient, web_settings: Settings
) -> None:
    before = _everything(web_settings)
    bad = {**organisation_entry("hackney"), "website": "", "contact_email": "nobody"}
    refused = post_form(as_admin, "/console/admin/organisations/hackney", bad)
    assert refused.status_code == 422
    assert "email" in _field_error(_page(refused), "contact_email")
    assert 'value="nobody"' in _page(refused)
    assert _everything(web_settings) == before


def test_an_unknown_organisation_is_404(as_admin: FlaskClient, web_settings: Settings) -> None:
    before = _everything(web_settings)
    assert as_admin.get("/console/admin/organisations/nowhere").status_code == 404
    missing = post_form(
        as_admin, "/console/admin/organisations/nowhere", organisation_entry("nowhere")
    )
    assert missing.status_code == 404 and "no organisation" in _page(missing)
    unknown_filter = as_admin.get("/console/admin/accounts?organisation=nowhere")
    assert unknown_filter.status_code == 404
    assert _everything(web_settings) == before


def test_the_accounts_list_filters_by_organisation_and_never_shows_a_password_hash(
    as_admin: FlaskClient, web_settings: Settings
) -> None:
    add_account(web_settings, "hackney", "bo@hackney.gov.uk")
    everyone = _page(as_admin.get("/console/admin/accounts"))
    assert "bo@hackney.gov.uk" in everyone and "ada@camden.gov.uk" in everyone
    assert "$argon2id$" not in everyone
    # Both Camden accounts have signed in or set a password; the admin's sign-in is recorded.
    row = re.search(r"<th scope=\"row\">root@camden.gov.uk</th>(.*?)</tr>", everyone, re.DOTALL)
    assert row and "administrator" in row[1] and "set" in row[1] and " UTC" in row[1]
    hackney = _page(as_admin.get("/console/admin/accounts?organisation=hackney"))
    assert "bo@hackney.gov.uk" in hackney and "ada@camden.gov.uk" not in hackney
    assert "1 account<" in hackney


def test_adding_an_account_shows_its_link_once_and_the_link_sets_its_password(
    as_admin: FlaskClient, app: Flask, admin: str, web_settings: Settings
) -> None:
    added = post_form(
        as_admin,
        "/console/admin/accounts/new",
        {
            "organisation": "hackney",
            "email": "cy@hackney.gov.uk",
            "display_name": "Cy",
            "role": "engineer",
        },
    )
    page = _page(added)
    assert added.status_code == 201 and added.headers["Cache-Control"] == "no-store"
    link = LINK.search(page)
    assert link, "no link on the page"
    secret = link[1]
    stored = _everything(web_settings)
    assert secret not in repr(stored)  # only its hash
    assert _rows(
        web_settings,
        "SELECT u.display_name, u.role, o.slug, u.password_hash FROM users u"
        " JOIN organisations o ON o.id = u.organisation_id WHERE email = 'cy@hackney.gov.uk'",
    ) == [("Cy", "engineer", "hackney", None)]
    action, actor, actor_id, changes, _ = _events(web_settings, "user")[-1]
    assert (action, actor_id) == ("create", _user_id(web_settings, admin))
    assert "(administrator)" in actor and changes["role"] == {"before": None, "after": "engineer"}
    assert secret not in _page(as_admin.get("/console/admin/accounts"))
    # The new person follows the link in a browser of their own, then signs in.
    person = app.test_client()
    path = f"/console/password/{secret}"
    token = form_token(person, path)
    done = person.post(path, data={"password": PASSWORD, "confirm": PASSWORD, "csrf_token": token})
    assert done.status_code == 302
    assert sign_in(person, "cy@hackney.gov.uk").status_code == 302  # type: ignore[attr-defined]
    assert "London Borough of Hackney: the console" in _page(person.get("/console/"))


def test_account_changes_leave_the_public_registers_version_alone(
    as_admin: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    def validators() -> tuple[str | None, str | None]:
        response = as_admin.get("/register.json")
        return response.headers.get("ETag"), response.headers.get("Last-Modified")

    before = validators()
    account = {"organisation": "camden", "email": "new@camden.gov.uk", "role": "engineer"}
    assert post_form(as_admin, "/console/admin/accounts/new", account).status_code == 201
    ada = _user_id(web_settings, engineer)
    assert post_form(as_admin, f"/console/admin/accounts/{ada}/disable", {}).status_code == 302
    assert len(_events(web_settings, "user")) == 2 + 2  # the two fixtures' accounts, then these
    assert validators() == before
    post_form(as_admin, "/console/admin/organisations/new", ORGANISATION_FORM)
    assert validators()[0] != before[0]  # a change to the register itself does change it


@pytest.mark.parametrize(
    ("field", "form", "message"),
    [
        ("email", {"email": "ADA@camden.gov.uk"}, "an account for ADA@camden.gov.uk already"),
        ("email", {"email": "ada at camden"}, "'ada at camden' is not an email address"),
        ("organisation", {"organisation": "nowhere"}, "there is no organisation 'nowhere'"),
        ("organisation", {"organisation": ""}, "there is no organisation ''"),
        ("role", {"role": "owner"}, "role must be one of engineer, admin, not 'owner'"),
        ("display_name", {"display_name": "x" * 201}, "the name is too long (200 characters"),
    ],
)
def test_adding_an_account_refuses_each_bad_field_beside_it_and_changes_nothing(
    as_admin: FlaskClient, web_settings: Settings, field: str, form: dict[str, str], message: str
) -> None:
    before = _everything(web_settings)
    good = {"organisation": "camden", "email": "new@camden.gov.uk", "role": "engineer"}
    refused = post_form(as_admin, "/console/admin/accounts/new", {**good, **form})
    page = _page(refused)
    assert refused.status_code == 422
    assert _field_error(page, field).replace("&#39;", "'").startswith(message)
    kept = {**good, **form}["email"]
    assert f'value="{kept}"' in page
    assert _everything(web_settings) == before


def test_a_new_link_replaces_the_old_one_and_is_audited_without_its_secret(
    as_admin: FlaskClient, client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    ada = _user_id(web_settings, engineer)
    first = LINK.search(_page(post_form(as_admin, f"/console/admin/accounts/{ada}/reset", {})))
    second = post_form(as_admin, f"/console/admin/accounts/{ada}/reset", {})
    assert second.status_code == 200 and "New password link" in _page(second)
    link = LINK.search(_page(second))
    assert first and link and first[1] != link[1]
    assert client.get(f"/console/password/{first[1]}").status_code == 410
    assert client.get(f"/console/password/{link[1]}").status_code == 200
    action, _, _, changes, note = _events(web_settings, "user")[-1]
    assert (action, changes) == ("reset_password", {}) and "48 hours" in note
    assert link[1] not in repr(_everything(web_settings))


def test_disabling_asks_first_then_ends_the_accounts_open_sessions_at_once(
    as_admin: FlaskClient, app: Flask, engineer: str, web_settings: Settings
) -> None:
    ada = app.test_client()
    sign_in(ada, engineer)
    assert ada.get("/console/").status_code == 200
    ada_id = _user_id(web_settings, engineer)
    confirm = as_admin.get(f"/console/admin/accounts/{ada_id}/disable")
    assert confirm.status_code == 200 and "will be signed out at once" in _page(confirm)
    assert _rows(web_settings, f"SELECT disabled_at FROM users WHERE id = {ada_id}") == [(None,)]
    done = post_form(as_admin, f"/console/admin/accounts/{ada_id}/disable", {})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"disabled={ada_id}")
    assert "The account of ada@camden.gov.uk is disabled" in _page(
        as_admin.get(done.headers["Location"])
    )
    assert ada.get("/console/").status_code == 302  # signed out
    assert _rows(
        web_settings,
        f"SELECT count(*) FROM user_sessions WHERE user_id = {ada_id} AND ended_at IS NULL",
    ) == [(0,)]
    assert _rows(
        web_settings, f"SELECT disabled_at IS NOT NULL FROM users WHERE id = {ada_id}"
    ) == [(True,)]
    action, _, _, changes, _ = _events(web_settings, "user")[-1]
    assert (action, changes) == ("disable", {"disabled": {"before": False, "after": True}})
    # A disabled account gets no new link.
    again = post_form(as_admin, f"/console/admin/accounts/{ada_id}/reset", {})
    assert again.status_code == 409 and "is disabled" in _page(again)


def test_an_administrator_cannot_disable_their_own_account(
    as_admin: FlaskClient, admin: str, web_settings: Settings
) -> None:
    me = _user_id(web_settings, admin)
    confirm = _page(as_admin.get(f"/console/admin/accounts/{me}/disable"))
    assert "This is your own account. You cannot disable it" in confirm
    assert "Disable the account</button>" not in confirm
    before = _everything(web_settings)
    refused = post_form(as_admin, f"/console/admin/accounts/{me}/disable", {})
    assert refused.status_code == 409
    assert "You cannot disable your own account" in _page(refused)
    assert _everything(web_settings) == before
    assert as_admin.get("/console/admin").status_code == 200


def test_an_unknown_account_is_404(as_admin: FlaskClient, web_settings: Settings) -> None:
    before = _everything(web_settings)
    assert as_admin.get("/console/admin/accounts/999999/disable").status_code == 404
    assert post_form(as_admin, "/console/admin/accounts/999999/disable", {}).status_code == 404
    assert post_form(as_admin, "/console/admin/accounts/999999/reset", {}).status_code == 404
    assert _everything(web_settings) == before


def test_the_administrators_pages_work_in_a_browser_and_pass_axe(
    page: Page, live_server: str, admin: str, web_settings: Settings
) -> None:
    sign_in_with_the_browser(page, live_server, admin)
    page.get_by_role("link", name="Organisations and accounts").click()
    assert page.inner_text("h1") == "Organisations"
    assert axe_violations(page) == []
    # A new organisation with a mistake: the summary links to the field, the input is kept.
    page.get_by_role("link", name="Add an organisation").click()
    assert axe_violations(page) == []
    page.get_by_label("Short name (slug)").fill("Tower Hamlets")
    page.get_by_label("Name", exact=True).fill("London Borough of Tower Hamlets")
    page.get_by_label("Kind of organisation").select_option(label="London borough")
    page.get_by_label("Contact email address").fill("sensors@towerhamlets.gov.uk")
    page.get_by_role("button", name="Add the organisation").click()
    summary = page.get_by_role("alert")
    assert "There is a problem" in summary.inner_text()
    assert page.get_by_label("Short name (slug)").input_value() == "Tower Hamlets"
    assert axe_violations(page) == []
    summary.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "slug"
    page.get_by_label("Short name (slug)").fill("tower-hamlets")
    page.get_by_role("button", name="Add the organisation").click()
    assert "Saved London Borough of Tower Hamlets." in page.inner_text("main")
    page.get_by_role("link", name="London Borough of Tower Hamlets (edit)").click()
    assert axe_violations(page) == []
    # An account with a mistake, then the link, then the confirmation before disabling.
    page.goto(f"{live_server}/console/admin/accounts")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Add an account").click()
    page.get_by_label("Organisation").select_option(label="London Borough of Tower Hamlets")
    page.get_by_label("Email address").fill(admin)
    page.get_by_role("button", name="Add the account").click()
    assert "already exists" in page.get_by_role("alert").inner_text()
    assert axe_violations(page) == []
    page.get_by_label("Email address").fill("di@towerhamlets.gov.uk")
    page.get_by_role("button", name="Add the account").click()
    assert "/console/password/" in page.inner_text("code")
    assert axe_violations(page) == []
    page.get_by_role("link", name="Back to the accounts").click()
    page.get_by_role("link", name="Disable di@towerhamlets.gov.uk").click()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Disable the account").click()
    assert "The account of di@towerhamlets.gov.uk is disabled" in page.inner_text("main")
    assert axe_violations(page) == []
    me = _user_id(web_settings, admin)
    page.goto(f"{live_server}/console/admin/accounts/{me}/disable")
    assert axe_violations(page) == []
