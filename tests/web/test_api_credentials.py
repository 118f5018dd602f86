"""API v1's device credentials with a real token on a real register: issue (the password in a
no-store answer only, its `$7$` hash stored), read (never a hash), revoke; 404, 409, 403 with
the tables unchanged, and 401 without a usable token."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from register import devices
from register.credentials import mosquitto_hash
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import ADMIN
from tests.web.test_api_writes import bearer, make_token, problem
from tests.web.test_console_credentials import issue_directly, stored_credentials

MINE = "/api/v1/devices/camden-aq-0001/credential"
THEIRS = "/api/v1/devices/hackney-aq-0001/credential"
UNKNOWN = "/api/v1/devices/camden-aq-9999/credential"
TOKEN_LABEL = "API token 'gateway-sync' of camden"


@pytest.fixture
def token(engineer: str, web_settings: Settings) -> str:
    """A token of Camden; Camden and Hackney have one device each (the `engineer` fixture)."""
    return make_token(web_settings)


def all_three(client: FlaskClient, path: str, headers: dict[str, str]) -> list[TestResponse]:
    """The answers to issuing, reading and revoking at `path`, in that order."""
    return [client.open(path, method=m, headers=headers) for m in ("POST", "GET", "DELETE")]


def active_hashes(settings: Settings) -> list[str]:
    with db.connect(settings) as conn:
        rows = conn.execute(
            "SELECT password_hash FROM device_credentials WHERE revoked_at IS NULL"
        ).fetchall()
    return [row[0] for row in rows]


def test_a_token_issues_reads_and_revokes_its_devices_credential(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    none_yet = client.get(MINE, headers=bearer(token))
    assert none_yet.status_code == 200
    assert none_yet.get_json() == {
        "username": "camden-aq-0001",
        "active": False,
        "issued_at": None,
        "issued_by": None,
    }
    issued = client.post(MINE, headers=bearer(token))
    assert issued.status_code == 201, issued.get_data(as_text=True)
    assert issued.headers["Cache-Control"] == "no-store"
    body = issued.get_json()
    assert body["username"] == "camden-aq-0001" and body["replaced"] is False
    assert body["first"] is True  # no device of this register had one
    assert body["topics"] == [
        "lamplighter/camden/camden-aq-0001/up",
        "lamplighter/camden/camden-aq-0001/senml",
    ]
    (stored,) = active_hashes(web_settings)
    assert stored.startswith("$7$") and mosquitto_hash.verify(body["password"], stored)
    read = client.get(MINE, headers=bearer(token))
    assert read.status_code == 200
    shown = read.get_json()
    assert shown["active"] is True and shown["issued_by"] == TOKEN_LABEL
    assert shown["issued_at"].endswith("+00:00")  # UTC, as every time the API gives
    text = read.get_data(as_text=True)
    assert "$7$" not in text and body["password"] not in text
    again = client.post(MINE, headers=bearer(token)).get_json()
    assert again["replaced"] is True and again["password"] != body["password"]
    assert again["first"] is False
    (replacing,) = active_hashes(web_settings)
    assert mosquitto_hash.verify(again["password"], replacing)
    assert not mosquitto_hash.verify(body["password"], replacing)
    revoked = client.delete(MINE, headers=bearer(token))
    assert revoked.status_code == 204 and revoked.get_data() == b""
    assert client.get(MINE, headers=bearer(token)).get_json()["active"] is False
    assert active_hashes(web_settings) == [] and len(stored_credentials(web_settings)) == 2
    nothing = problem(client.delete(MINE, headers=bearer(token)), 404)
    assert "no working credential" in nothing["detail"]


def test_a_decommissioned_device_is_a_409_and_an_unknown_one_a_404(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        devices.decommission_device(conn, "camden-aq-0001", ADMIN)
    assert "decommissioned" in problem(client.post(MINE, headers=bearer(token)), 409)["detail"]
    assert client.get(MINE, headers=bearer(token)).get_json()["active"] is False
    problem(client.delete(MINE, headers=bearer(token)), 404)
    for answer in all_three(client, UNKNOWN, bearer(token)):
        assert "there is no device 'camden-aq-9999'" in problem(answer, 404)["detail"]
    assert stored_credentials(web_settings) == []


def test_another_organisations_device_is_a_403_and_the_table_unchanged(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    issue_directly(web_settings, "hackney-aq-0001")
    before = stored_credentials(web_settings)
    for answer in all_three(client, THEIRS, bearer(token)):
        body = problem(answer, 403)
        assert "not hackney" in body["detail"]
        assert "password" not in body and "issued_by" not in body
    assert stored_credentials(web_settings) == before


def test_without_a_usable_token_each_is_a_401_and_the_table_unchanged(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    issue_directly(web_settings, "camden-aq-0001")
    before = stored_credentials(web_settings)
    unknown = bearer("llt_not-a-token-the-register-issued")
    for headers in ({}, unknown, {"Authorization": "Basic YWRhOnB3"}):
        for answer in all_three(client, MINE, headers):
            problem(answer, 401)
            assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="lamplighter"')
    assert stored_credentials(web_settings) == before


def test_the_openapi_document_describes_the_three_routes_with_the_token(
    client: FlaskClient,
) -> None:
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.get_json()
    routes = document["paths"]["/api/v1/devices/{public_id}/credential"]
    assert sorted(routes) == ["delete", "get", "post"]
    for route in routes.values():
        assert route["security"] == [{"bearerAuth": []}]
        assert {"400", "401", "403", "404"} <= set(route["responses"])
    issue = routes["post"]["responses"]
    assert set(issue) == {"201", "400", "401", "403", "404", "409"}
    assert issue["201"]["headers"]["Cache-Control"]["required"] is True
    assert issue["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IssuedCredential"
    }
    assert "decommissioned" in issue["409"]["description"]
    assert routes["delete"]["responses"]["204"] == {"description": "No Content"}
    assert "no working credential" in routes["delete"]["responses"]["404"]["description"]
    schemas = document["components"]["schemas"]
    assert set(schemas["Credential"]["required"]) == {
        "username",
        "active",
        "issued_at",
        "issued_by",
    }
    assert "password" not in schemas["Credential"]["properties"]
    assert set(schemas["IssuedCredential"]["required"]) == {
        "username",
        "password",
        "replaced",
        "first",
        "topics",
    }


def test_the_api_page_shows_each_with_the_token_and_a_curl_command(client: FlaskClient) -> None:
    answer = client.get("/api")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    for method in ("POST", "GET", "DELETE"):
        path = "/api/v1/devices/{public_id}/credential"
        assert f"<code>{method} {path}</code>, with an API token" in html
        address = "http://localhost/api/v1/devices/camden-aq-0001/credential"
        sent = f"curl -X {method} -H &#34;Authorization: Bearer $TOKEN&#34; {address}</code>"
        assert sent in html
    assert 'Answers 201 with <a href="#schema-IssuedCredential">IssuedCredential</a>' in html
    assert "Answers 204 with no body, or a problem" in html
    assert 'href="/api/v1/devices/camden-aq-0001/credential"' not in html  # no link: a token
    assert '<h3 id="schema-Credential">Credential</h3>' in html
