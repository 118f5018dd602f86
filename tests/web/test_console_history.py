"""The console's history: the organisation's changes, newest first, with who made each one and
every field before and after; never another organisation's; the public history still names only
the organisation."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from register import devices, organisations
from register.accounts.users import User
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN, device_entry, organisation_entry
from tests.web.console_client import add_account, sign_in
from tests.web.console_pages import refused_by_field, text_of, text_of_page

ADA = User(0, "ada@camden.gov.uk", "Ada Lovelace", "engineer", "camden", "", 0)


def as_person(settings: Settings, email: str, name: str) -> User:
    """The account of `email` as the console knows it, with its display name set."""
    with db.connect(settings) as conn, conn.transaction():
        conn.execute("UPDATE users SET display_name = %s WHERE email = %s", (name, email))
        row = conn.execute(
            "SELECT u.id, o.slug, o.name, o.id FROM users u"
            " JOIN organisations o ON o.id = u.organisation_id WHERE u.email = %s",
            (email,),
        ).fetchone()
    assert row is not None
    return User(row[0], email, name, "engineer", row[1], row[2], row[3])


@pytest.fixture
def changes(client: FlaskClient, engineer: str, web_settings: Settings) -> FlaskClient:
    """Ada Lovelace of Camden renamed camden-aq-0001 with a note; Hackney's Grace Hopper moved
    hackney-aq-0001 to a distinctive place; an administrator changed Camden's contact address.
    Ada is signed in."""
    ada = as_person(web_settings, engineer, "Ada Lovelace")
    add_account(web_settings, "hackney", "grace@hackney.gov.uk")
    grace = as_person(web_settings, "grace@hackney.gov.uk", "Grace Hopper")
    with db.connect(web_settings) as conn, conn.transaction():
        devices.update_device(
            conn,
            "camden-aq-0001",
            device_entry("camden-aq-0001", name="Kerbside air monitor"),
            ada.actor(),
            note="new sign on the post",
        )
        devices.update_device(
            conn,
            "hackney-aq-0001",
            device_entry("hackney-aq-0001", organisation="hackney", place="Zebra crossing 77"),
            grace.actor(),
        )
        organisations.update_organisation(
            conn, "camden", organisation_entry(contact_email="iot@camden.gov.uk"), ADMIN
        )
    sign_in(client, engineer)
    return client


def test_the_history_shows_each_change_newest_first_with_its_person_and_fields(
    changes: FlaskClient,
) -> None:
    answer = changes.get("/console/history")
    assert answer.status_code == 200
    text = text_of(answer)
    contact = text.index("Changed: the organisation's entry")
    renamed = text.index("Changed: camden-aq-0001")
    created = text.index("Created: camden-aq-0001")
    assert contact < renamed < created  # newest first
    assert "by test administrator" in text
    assert (
        "public id camden-aq-0001 organisation camden name Air quality monitor" in text
    )  # a new entry's fields
    assert "by Ada Lovelace <ada@camden.gov.uk> . Note: new sign on the post" in text
    assert "name Air quality monitor Kerbside air monitor" in text
    assert "contact email sensors@camden.gov.uk iot@camden.gov.uk" in text
    # Another organisation's events never appear.
    assert "Grace Hopper" not in text and "Zebra crossing 77" not in text
    assert "hackney-aq-0001" not in text


def test_the_history_of_one_device_shows_only_its_changes(changes: FlaskClient) -> None:
    answer = changes.get("/console/history?device=camden-aq-0001")
    text = text_of(answer)
    assert answer.status_code == 200
    assert "Changed: camden-aq-0001" in text and "Created: camden-aq-0001" in text
    assert "the organisation's entry" not in text


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("device=hackney-aq-0001", "device", "'hackney-aq-0001' is not a device of"),
        ("device=nowhere-0001", "device", "'nowhere-0001' is not a device of"),
        ("page=0", "page", "'0' is not a page number"),
        ("page=two", "page", "'two' is not a page number"),
        # Characters str.isdigit takes but int refuses, other scripts' digits, and more digits
        # than int reads: each a 400 by the field, never a 500.
        ("page=%C2%B2", "page", "'²' is not a page number"),
        ("page=%D9%A3", "page", "'٣' is not a page number"),
        ("page=" + "9" * 5000, "page", f"'{'9' * 20}' is not a page number"),
    ],
)
def test_a_filter_that_is_not_valid_is_refused_by_its_field(
    changes: FlaskClient, query: str, field: str, message: str
) -> None:
    page = refused_by_field(changes.get(f"/console/history?{query}"), 400, field, message)
    assert "Grace Hopper" not in page and "Zebra crossing 77" not in page


def test_the_history_is_paginated_fifty_changes_a_page(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    ada = as_person(web_settings, engineer, "Ada Lovelace")
    with db.connect(web_settings) as conn, conn.transaction():
        for n in range(1, 56):
            devices.update_device(
                conn,
                "camden-aq-0001",
                device_entry("camden-aq-0001", place=f"lamp post {n}"),
                ada.actor(),
            )
    sign_in(client, engineer)
    first = client.get("/console/history").get_data(as_text=True)
    assert first.count("<li>\n    <h3>") == 50
    assert "lamp post 55" in first and "Older changes" in first and "Newer changes" not in first
    second = client.get("/console/history?page=2").get_data(as_text=True)
    # 55 updates, the device's creation and Camden's own: 7 on the second page, the oldest last.
    assert second.count("<li>\n    <h3>") == 7
    text = text_of_page(second)
    assert text.index("Created: camden-aq-0001") < text.index("Created: the organisation")
    assert (
        "lamp post 5 " in text
        and "lamp post 6 " not in text
        and "Older changes" not in second
        and "Newer changes" in second
    )


def test_the_public_history_still_names_only_the_organisation(changes: FlaskClient) -> None:
    public = changes.get("/devices/camden-aq-0001").get_data(as_text=True)
    assert "Kerbside air monitor" in public
    assert "Ada Lovelace" not in public and "ada@camden.gov.uk" not in public


def test_the_history_needs_a_signed_in_person(client: FlaskClient) -> None:
    assert client.get("/console/history").headers["Location"].startswith("/console/login")
