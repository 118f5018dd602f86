"""API v1's writes with a real token on a real register: create, change and decommission with
their audit events, If-Match, the token's organisation only, each kind of bad request, and the
import that checks a file without storing it."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from register import devices, exports
from register.accounts import api_tokens
from register.audit import Actor
from register.platform import db
from register.platform.config import Settings
from tests.register.factories import device_entry, rows_of
from tests.web.console_client import sign_in
from web.signed_in import SESSION_COOKIE

ACTOR = "API token 'gateway-sync' of camden"


def make_token(settings: Settings, organisation: str = "camden", **kwargs: Any) -> str:
    with db.connect(settings) as conn, conn.transaction():
        _, secret = api_tokens.create(
            conn,
            organisation=organisation,
            name=kwargs.pop("name", "gateway-sync"),
            made_by=Actor.command_line(),
            **kwargs,
        )
    return secret


@pytest.fixture
def token(engineer: str, web_settings: Settings) -> str:
    """A token of Camden; Camden and Hackney have one device each (the `engineer` fixture)."""
    return make_token(web_settings)


def bearer(secret: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **headers}


def register_state(settings: Settings) -> list[Any]:
    """Everything a write could change: devices, their metrics, and the audit log."""
    with db.connect(settings) as conn:
        return [
            conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in ("devices", "device_metrics", "audit_events")
        ]


def audit_events(settings: Settings, public_id: str) -> list[tuple[str, str, int]]:
    with db.connect(settings) as conn:
        return conn.execute(
            """SELECT e.action, e.actor, e.organisation_id FROM audit_events e
                 JOIN devices d ON d.id = e.entity_id AND e.entity = 'device'
                WHERE d.public_id = %s ORDER BY e.id""",
            (public_id,),
        ).fetchall()


def organisation_id(settings: Settings, slug: str) -> int:
    with db.connect(settings) as conn:
        row = conn.execute("SELECT id FROM organisations WHERE slug = %s", (slug,)).fetchone()
    assert row is not None
    return int(row[0])


def etag_of(client: FlaskClient, public_id: str) -> str:
    answer = client.get(f"/api/v1/devices/{public_id}")
    assert answer.status_code == 200
    etag = answer.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    return etag


def version_in(answer: TestResponse) -> str:
    """The ETag of the register entry a write's answer holds."""
    return f'"{devices.version_of(answer.get_json())}"'


def problem(answer: TestResponse, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    body: dict[str, Any] = answer.get_json()
    assert body["status"] == status and body["detail"]
    return body


def test_a_token_registers_a_device_with_its_address_etag_audit_event_and_notification(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    entry = device_entry("camden-aq-0002", name="Kerbside monitor")
    with psycopg.connect(web_settings.database_url, autocommit=True) as listener:
        listener.execute("LISTEN register_changed")
        answer = client.post("/api/v1/devices", json=entry, headers=bearer(token))
        heard = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=1)]
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.headers["Location"] == "/api/v1/devices/camden-aq-0002"
    assert answer.get_json()["name"] == "Kerbside monitor"
    assert answer.get_json()["metrics"][0]["retention"] == "P30D"
    assert answer.headers["ETag"] == version_in(answer) == etag_of(client, "camden-aq-0002")
    assert heard and heard[0]["table"] in ("devices", "device_metrics")
    assert audit_events(web_settings, "camden-aq-0002") == [
        ("create", ACTOR, organisation_id(web_settings, "camden"))
    ]
    again = client.post("/api/v1/devices", json=entry, headers=bearer(token))
    assert problem(again, 422)["errors"] == [
        {"place": None, "field": "public_id", "message": "camden-aq-0002 is already registered"}
    ]


def test_a_patch_merges_the_fields_given_and_metrics_replace_the_list(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    before = etag_of(client, "camden-aq-0001")
    changes = {"name": "Renamed monitor", "metrics": [device_entry()["metrics"][0]]}
    answer = client.patch(
        "/api/v1/devices/camden-aq-0001",
        data=json.dumps(changes),
        headers=bearer(token, **{"If-Match": before}),
        content_type="application/merge-patch+json",
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    changed = answer.get_json()
    assert changed["name"] == "Renamed monitor"
    assert changed["place"] == device_entry()["place"]
    assert [m["key"] for m in changed["metrics"]] == ["no2"]
    assert answer.headers["ETag"] == version_in(answer) == etag_of(client, "camden-aq-0001")
    assert answer.headers["ETag"] != before
    assert audit_events(web_settings, "camden-aq-0001")[-1] == (
        "update",
        ACTOR,
        organisation_id(web_settings, "camden"),
    )


def audit_changes(settings: Settings, public_id: str) -> list[dict[str, Any]]:
    """The changes each of a device's audit events records, oldest first."""
    with db.connect(settings) as conn:
        rows = conn.execute(
            """SELECT e.changes FROM audit_events e
                 JOIN devices d ON d.id = e.entity_id AND e.entity = 'device'
                WHERE d.public_id = %s ORDER BY e.id""",
            (public_id,),
        ).fetchall()
    return [row[0] for row in rows]


def read_entry(client: FlaskClient, public_id: str) -> TestResponse:
    answer = client.get(f"/api/v1/devices/{public_id}/entry")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/json"
    return answer


def test_a_devices_entry_is_the_register_entry_with_the_cards_etag(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    for public_id in ("camden-aq-0001", "hackney-aq-0001"):  # anyone may read any entry
        answer = read_entry(client, public_id)
        with db.connect(web_settings) as conn:
            stored = devices.get_device(conn, public_id)
        assert answer.get_json() == stored
        assert answer.headers["ETag"] == etag_of(client, public_id) == version_in(answer)
    assert "unit_text" not in answer.get_json()["metrics"][0]


def test_an_entry_sent_back_unchanged_changes_nothing_and_one_retention_changes_one_field(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    read = read_entry(client, "camden-aq-0001")
    entry, etag = read.get_json(), read.headers["ETag"]
    events = audit_changes(web_settings, "camden-aq-0001")
    state = register_state(web_settings)
    same = client.patch(
        "/api/v1/devices/camden-aq-0001", json=entry, headers=bearer(token, **{"If-Match": etag})
    )
    assert same.status_code == 200, same.get_data(as_text=True)
    assert same.get_json() == entry
    assert same.headers["ETag"] == etag
    assert register_state(web_settings) == state  # no change and no audit event

    entry["metrics"][0]["retention"] = "7 days"
    shorter = client.patch(
        "/api/v1/devices/camden-aq-0001", json=entry, headers=bearer(token, **{"If-Match": etag})
    )
    assert shorter.status_code == 200, shorter.get_data(as_text=True)
    assert shorter.get_json()["metrics"][0]["retention"] == "P7D"
    assert shorter.headers["ETag"] == read_entry(client, "camden-aq-0001").headers["ETag"] != etag
    assert audit_changes(web_settings, "camden-aq-0001") == [
        *events,
        {"metrics.no2.retention": {"before": "P30D", "after": "P7D"}},
    ]


def test_the_entry_of_an_unknown_device_is_a_404_and_a_parameter_a_400(
    client: FlaskClient, engineer: str
) -> None:
    unknown = client.get("/api/v1/devices/camden-aq-9999/entry")
    assert "camden-aq-9999" in problem(unknown, 404)["detail"]
    asked = client.get("/api/v1/devices/camden-aq-0001/entry?fields=all")
    assert "unknown parameter 'fields'" in problem(asked, 400)["detail"]


def test_a_new_device_without_an_organisation_is_the_tokens(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    entry = device_entry("camden-aq-0002")
    del entry["organisation"]
    answer = client.post("/api/v1/devices", json=entry, headers=bearer(token))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["organisation"] == "camden"
    with db.connect(web_settings) as conn:
        stored = conn.execute(
            """SELECT o.slug FROM devices d JOIN organisations o ON o.id = d.organisation_id
                WHERE d.public_id = 'camden-aq-0002'"""
        ).fetchone()
    assert stored == ("camden",)
    for public_id, not_given in (("camden-aq-0003", None), ("camden-aq-0004", " ")):
        again = client.post(
            "/api/v1/devices",
            json=device_entry(public_id, organisation=not_given),
            headers=bearer(token),
        )
        assert again.status_code == 201, again.get_data(as_text=True)
        assert again.get_json()["organisation"] == "camden"
    # Naming another organisation is still refused, and stores nothing.
    state = register_state(web_settings)
    theirs = client.post(
        "/api/v1/devices",
        json=device_entry("camden-aq-0005", organisation="hackney"),
        headers=bearer(token),
    )
    assert "not those of 'hackney'" in problem(theirs, 403)["detail"]
    assert register_state(web_settings) == state


def test_the_documents_example_bodies_are_accepted(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    new = paths["/api/v1/devices"]["post"]["requestBody"]["content"]["application/json"]
    created = client.post("/api/v1/devices", json=new["example"], headers=bearer(token))
    assert created.status_code == 201, created.get_data(as_text=True)
    change = paths["/api/v1/devices/{public_id}"]["patch"]["requestBody"]["content"]
    for kind, content in change.items():
        public_id = new["example"]["public_id"]
        before = read_entry(client, public_id).get_json()
        changed = client.patch(
            f"/api/v1/devices/{public_id}",
            data=json.dumps(content["example"]),
            content_type=kind,
            headers=bearer(token, **{"If-Match": etag_of(client, public_id)}),
        )
        assert changed.status_code == 200, changed.get_data(as_text=True)
        assert changed.get_json() == {**before, **content["example"]}


def test_delete_decommissions_on_the_day_given_and_keeps_the_device(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    future = client.delete(
        "/api/v1/devices/camden-aq-0001?on=2099-01-01",
        headers=bearer(token, **{"If-Match": etag_of(client, "camden-aq-0001")}),
    )
    assert future.status_code == 422
    assert future.get_json()["errors"] == [
        {
            "place": None,
            "field": "decommissioned_on",
            "message": "must not be in the future: a device is decommissioned once it is out "
            "of service",
        }
    ]
    assert audit_events(web_settings, "camden-aq-0001")[-1][0] == "create"
    answer = client.delete(
        "/api/v1/devices/camden-aq-0001?on=2026-11-20",
        headers=bearer(token, **{"If-Match": etag_of(client, "camden-aq-0001")}),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["status"] == "decommissioned"
    assert answer.get_json()["decommissioned_on"] == "2026-11-20"
    assert answer.headers["ETag"] == version_in(answer) == etag_of(client, "camden-aq-0001")
    assert client.get("/api/v1/devices/camden-aq-0001").get_json()["status"] == "decommissioned"
    assert audit_events(web_settings, "camden-aq-0001")[-1][:2] == ("decommission", ACTOR)
    bad_day = client.delete(
        "/api/v1/devices/camden-aq-0001?on=20-11-2026",
        headers=bearer(token, **{"If-Match": etag_of(client, "camden-aq-0001")}),
    )
    assert "on: must be a date, YYYY-MM-DD" in problem(bad_day, 400)["detail"]


def lock_waits(settings: Settings) -> int:
    """How many of the database's statements are waiting for a lock."""
    with db.connect(settings) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_devices_etag_is_the_version_of_the_entry_its_body_shows_despite_a_change_meanwhile(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    """A change committed while the device's card is being built (after its entry was read, before
    its history is) must not give the old body the new version's ETag: a PATCH based on that
    body would then silently drop the change. The audit log is locked so that the read stops at
    the history while the change is committed."""
    before = etag_of(client, "camden-aq-0001")
    answers: list[TestResponse] = []
    with db.connect(web_settings) as conn, conn.transaction():
        conn.execute("LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE")
        reader = threading.Thread(
            target=lambda: answers.append(client.get("/api/v1/devices/camden-aq-0001"))
        )
        reader.start()
        deadline = time.monotonic() + 5
        while lock_waits(web_settings) == 0:
            assert time.monotonic() < deadline, "the read never reached the locked audit log"
            time.sleep(0.02)
        entry = devices.get_device(conn, "camden-aq-0001")
        assert entry is not None
        changed = {**entry, "name": "Changed meanwhile"}
        devices.update_device(conn, "camden-aq-0001", changed, Actor.command_line())
    reader.join(timeout=10)
    assert answers and answers[0].status_code == 200, answers
    shown = answers[0]
    assert shown.get_json()["name"] == entry["name"]
    assert shown.headers["ETag"] == before == f'"{devices.version_of(entry)}"'
    # So a change based on what was shown is refused, not stored over the one made meanwhile.
    answer = client.patch(
        "/api/v1/devices/camden-aq-0001",
        json={"description": "Based on the old body"},
        headers=bearer(token, **{"If-Match": shown.headers["ETag"]}),
    )
    problem(answer, 412)
    assert client.get("/api/v1/devices/camden-aq-0001").get_json()["name"] == "Changed meanwhile"


def test_a_change_based_on_an_old_version_is_412_and_changes_nothing(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    old = etag_of(client, "camden-aq-0001")
    first = client.patch(
        "/api/v1/devices/camden-aq-0001",
        json={"name": "First engineer's name"},
        headers=bearer(token, **{"If-Match": old}),
    )
    assert first.status_code == 200
    state = register_state(web_settings)
    second = client.patch(
        "/api/v1/devices/camden-aq-0001",
        json={"name": "Second engineer's name"},
        headers=bearer(token, **{"If-Match": old}),
    )
    refused = problem(second, 412)
    # It says what happened, and the version to read, without guessing who made the change
    # (here it was this token's own).
    assert refused["detail"] == (
        "device camden-aq-0001 has changed since the version named in If-Match, so nothing was "
        f"stored; its current ETag is {first.headers['ETag']}: read it again and make your "
        "change to what it says now"
    )
    assert "someone else" not in refused["detail"]
    assert second.headers["ETag"] == first.headers["ETag"]
    stale_delete = client.delete(
        "/api/v1/devices/camden-aq-0001", headers=bearer(token, **{"If-Match": old})
    )
    problem(stale_delete, 412)
    assert register_state(web_settings) == state


@pytest.mark.parametrize("if_match", [None, "", "*"])
def test_a_change_without_the_devices_etag_is_428_and_changes_nothing(
    client: FlaskClient, token: str, web_settings: Settings, if_match: str | None
) -> None:
    state = register_state(web_settings)
    headers = bearer(token) if if_match is None else bearer(token, **{"If-Match": if_match})
    patch = client.patch("/api/v1/devices/camden-aq-0001", json={"name": "X"}, headers=headers)
    assert "If-Match" in problem(patch, 428)["detail"]
    problem(client.delete("/api/v1/devices/camden-aq-0001", headers=headers), 428)
    assert register_state(web_settings) == state


def test_writes_to_another_organisations_devices_are_403_and_the_database_is_unchanged(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    theirs = etag_of(client, "hackney-aq-0001")
    ours = etag_of(client, "camden-aq-0001")
    state = register_state(web_settings)
    refused = [
        client.post(
            "/api/v1/devices",
            json=device_entry("hackney-aq-0002", organisation="hackney"),
            headers=bearer(token),
        ),
        client.patch(
            "/api/v1/devices/hackney-aq-0001",
            json={"name": "Taken over"},
            headers=bearer(token, **{"If-Match": theirs}),
        ),
        client.delete(
            "/api/v1/devices/hackney-aq-0001", headers=bearer(token, **{"If-Match": theirs})
        ),
        # Moving one's own device to another organisation is a write to that organisation.
        client.patch(
            "/api/v1/devices/camden-aq-0001",
            json={"organisation": "hackney"},
            headers=bearer(token, **{"If-Match": ours}),
        ),
        client.post(
            "/api/v1/devices/import?dry_run=false",
            json=[device_entry("hackney-aq-0001", organisation="hackney", name="Taken over")],
            headers=bearer(token),
        ),
    ]
    for answer in refused:
        assert "hackney" in problem(answer, 403)["detail"].lower()
    # An entry naming Camden but Hackney's device takes that device over: a 403 too, dry run
    # or not, naming the entry's place and field.
    takeover = [device_entry("hackney-aq-0001", organisation="camden", name="Taken over")]
    for dry_run in ("true", "false"):
        answer = client.post(
            f"/api/v1/devices/import?dry_run={dry_run}", json=takeover, headers=bearer(token)
        )
        body = problem(answer, 403)
        assert "camden's devices" in body["detail"]
        assert [(e["place"], e["field"]) for e in body["errors"]] == [("device 1", "public_id")]
        assert "belongs to another organisation (hackney)" in body["errors"][0]["message"]
    assert register_state(web_settings) == state


def test_an_unknown_device_is_a_404(client: FlaskClient, token: str) -> None:
    headers = bearer(token, **{"If-Match": '"0"'})
    problem(client.patch("/api/v1/devices/camden-aq-9999", json={}, headers=headers), 404)
    problem(client.delete("/api/v1/devices/camden-aq-9999", headers=headers), 404)


def test_each_kind_of_missing_or_ended_token_is_a_401_that_says_which(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    revoked = make_token(web_settings, name="old-gateway")
    with db.connect(web_settings) as conn, conn.transaction():
        (token_id,) = conn.execute("SELECT max(id) FROM api_tokens").fetchone() or (0,)
        api_tokens.revoke(conn, token_id, Actor.command_line())
        expired = make_token(web_settings, name="last-year")
        conn.execute(
            "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = %s",
            ("last-year",),
        )
    state = register_state(web_settings)
    cases = {
        None: "needs an API token",
        "Basic YWRhOnB3": "must be 'Bearer <token>'",
        "Bearer ": "must be 'Bearer <token>'",
        "Bearer llt_not-a-token-the-register-issued": "not one the register issued",
        f"Bearer {revoked}": "has been revoked",
        f"Bearer {expired}": "has expired",
    }
    for header, says in cases.items():
        headers = {} if header is None else {"Authorization": header}
        answer = client.post(
            "/api/v1/devices", json=device_entry("camden-aq-0009"), headers=headers
        )
        assert says in problem(answer, 401)["detail"], header
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="lamplighter"')
        if header is not None and header.startswith("Bearer llt_"):
            assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert register_state(web_settings) == state


def test_a_signed_in_console_sessions_cookie_is_no_way_into_the_api(
    app: Flask, client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    """The session cookie's path is /console, so a browser never sends it to the API; sent
    anyway, by hand, it still opens nothing there."""
    assert sign_in(client, engineer).status_code == 302
    session = client.get_cookie(SESSION_COOKIE, path="/console")
    assert session is not None
    # A client without a cookie jar sends the Cookie header exactly as given (one with a jar
    # replaces it by the jar's cookies for the path, which for /api are none).
    by_hand = app.test_client(use_cookies=False)
    cookie = {"Cookie": f"{SESSION_COOKIE}={session.value}"}
    assert by_hand.get("/console/", headers=cookie).status_code == 200  # an open session
    state = register_state(web_settings)
    answer = by_hand.post("/api/v1/devices", json=device_entry("camden-aq-0009"), headers=cookie)
    assert "needs an API token" in problem(answer, 401)["detail"]
    assert register_state(web_settings) == state


def oversized() -> bytes:
    return json.dumps(device_entry(description="x" * 300_000)).encode()


@pytest.mark.parametrize(
    "case",
    [
        (b"name=x", "application/x-www-form-urlencoded", 415, "send the body as application/json"),
        (b"", "", 415, "send the body as application/json"),
        (b'{"name": "x",', "application/json", 400, "not valid JSON"),
        (b"[1, 2]", "application/json", 400, "must be a JSON object of fields, not a list"),
        (b'"text"', "application/json", 400, "not a string"),
        (b'{"name": "a\\u0000b"}', "application/json", 400, "NUL character"),
        (b'{"name": "\xff"}', "application/json", 400, "not UTF-8 text"),
        (b'{"name": "\\ud800"}', "application/json", 400, "not valid JSON"),
        (oversized(), "application/json", 413, "larger than 262,144 bytes"),
    ],
)
def test_each_kind_of_bad_body_is_a_4xx_that_says_what_was_wrong(
    client: FlaskClient, token: str, web_settings: Settings, case: tuple[bytes, str, int, str]
) -> None:
    body, content_type, status, says = case
    state = register_state(web_settings)
    answer = client.post(
        "/api/v1/devices", data=body, content_type=content_type, headers=bearer(token)
    )
    assert says in problem(answer, status)["detail"]
    assert register_state(web_settings) == state


def test_a_refused_entry_names_each_bad_field_as_the_import_does(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    entry = device_entry("camden-aq-0002", latitude=95, metrics=[device_entry()["metrics"][0]])
    entry["metrics"][0]["unit"] = "ugm3"
    answer = client.post("/api/v1/devices", json=entry, headers=bearer(token))
    errors = problem(answer, 422)["errors"]
    assert [e["field"] for e in errors] == ["latitude", "metrics[0].unit"]
    assert errors[1]["message"].startswith("'ugm3' is not a SenML unit; close matches: ug/m3")
    patch = client.patch(
        "/api/v1/devices/camden-aq-0001",
        json={"purposes": [], "installed_on": "yesterday"},
        headers=bearer(token, **{"If-Match": etag_of(client, "camden-aq-0001")}),
    )
    assert {e["field"] for e in problem(patch, 422)["errors"]} == {"purposes", "installed_on"}
    rename = client.patch(
        "/api/v1/devices/camden-aq-0001",
        json={"public_id": "camden-aq-0077"},
        headers=bearer(token, **{"If-Match": etag_of(client, "camden-aq-0001")}),
    )
    assert problem(rename, 422)["errors"][0]["field"] == "public_id"


def test_a_period_too_long_for_any_register_is_a_422_by_its_field(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    state = register_state(web_settings)
    huge = "99999999999999999999 days"  # past what Python's timedelta holds
    entry = device_entry("camden-aq-0002", reporting_interval="P99999999999D")
    entry["metrics"][0]["retention"] = huge
    created = client.post("/api/v1/devices", json=entry, headers=bearer(token))
    errors = problem(created, 422)["errors"]
    assert [(e["field"], e["message"]) for e in errors] == [
        ("reporting_interval", "must be 1 year at most; leave it empty if it reports less often"),
        ("metrics[0].retention", f"'{huge}' is longer than 100 years; check the number"),
    ]
    patch = client.patch(
        "/api/v1/devices/camden-aq-0001",
        json={"reporting_interval": huge},
        headers=bearer(token, **{"If-Match": etag_of(client, "camden-aq-0001")}),
    )
    assert [e["field"] for e in problem(patch, 422)["errors"]] == ["reporting_interval"]
    assert register_state(web_settings) == state


def a_file(fmt: str, entries: list[dict[str, Any]]) -> bytes:
    return exports.document(fmt, [exports.ENCODERS[fmt](entry) for entry in entries])


FILE_TYPES = {"csv": "text/csv", "json": "application/json", "geojson": "application/geo+json"}


@pytest.mark.parametrize("fmt", ["csv", "json", "geojson"])
def test_a_dry_run_import_says_what_would_change_and_stores_nothing(
    client: FlaskClient, token: str, web_settings: Settings, fmt: str
) -> None:
    entries = [
        device_entry("camden-aq-0001", name="Renamed by the file"),
        device_entry("camden-aq-0002"),
    ]
    state = register_state(web_settings)
    assert import_file(client, token, fmt, entries, dry_run=True) == {
        "dry_run": True,
        "created": ["camden-aq-0002"],
        "changed": ["camden-aq-0001"],
        "changes": {
            "camden-aq-0001": {
                "name": {"before": "Air quality monitor", "after": "Renamed by the file"}
            }
        },
        "unchanged": [],
        "left_alone": [],
    }
    assert register_state(web_settings) == state


def test_an_import_reports_every_problem_by_place_and_field_and_stores_all_or_nothing(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    bad = device_entry("camden-aq-0003", latitude=95)
    bad["metrics"][1]["unit"] = "ugm3"
    state = register_state(web_settings)
    answer = client.post(
        "/api/v1/devices/import?dry_run=false",
        data=a_file("csv", [device_entry("camden-aq-0002"), bad]),
        content_type="text/csv",
        headers=bearer(token),
    )
    errors = problem(answer, 422)["errors"]
    assert [(e["place"], e["field"]) for e in errors] == [
        ("line 4", "latitude"),
        ("line 5", "metric_unit"),
    ]
    assert register_state(web_settings) == state
    not_objects = client.post(
        "/api/v1/devices/import", json=[1, device_entry("camden-aq-0002")], headers=bearer(token)
    )
    assert problem(not_objects, 422)["errors"] == [
        {"place": "device 1", "field": "entry", "message": "must be an object of fields"}
    ]
    unreadable = client.post(
        "/api/v1/devices/import",
        data=b'{"type": "Feature"}',
        content_type="application/geo+json",
        headers=bearer(token),
    )
    assert "expected a GeoJSON FeatureCollection" in problem(unreadable, 400)["detail"]
    stored = client.post(
        "/api/v1/devices/import?dry_run=false",
        data=a_file("json", [device_entry("camden-aq-0002")]),
        content_type="application/json",
        headers=bearer(token),
    )
    assert stored.get_json()["dry_run"] is False
    assert stored.get_json()["created"] == ["camden-aq-0002"]
    assert audit_events(web_settings, "camden-aq-0002") == [
        ("create", ACTOR, organisation_id(web_settings, "camden"))
    ]


def downloaded_register(client: FlaskClient, **renamed: str) -> list[dict[str, Any]]:
    """The entries of the register's JSON download, with each device of `renamed` (public id:
    new name) renamed, as a script edits them before importing them."""
    downloaded: list[dict[str, Any]] = json.loads(client.get("/register.json").get_data())[
        "devices"
    ]
    for entry in downloaded:
        entry["name"] = renamed.get(entry["public_id"], entry["name"])
    return downloaded


def organisation_rows(settings: Settings, organisation: str) -> list[Any]:
    with db.connect(settings) as conn:
        return rows_of(conn, organisation)


def import_file(
    client: FlaskClient, token: str, fmt: str, entries: list[dict[str, Any]], dry_run: bool
) -> dict[str, Any]:
    """What the API's import answers for a file of `entries` in `fmt`, checked to be a 200."""
    answer = client.post(
        f"/api/v1/devices/import?dry_run={str(dry_run).lower()}",
        data=a_file(fmt, entries),
        content_type=FILE_TYPES[fmt],
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    found: dict[str, Any] = answer.get_json()
    return found


@pytest.mark.parametrize("fmt", ["csv", "json", "geojson"])
def test_the_whole_register_downloaded_imports_its_own_change_and_leaves_others_alone(
    client: FlaskClient, token: str, web_settings: Settings, fmt: str
) -> None:
    hackney = organisation_rows(web_settings, "hackney")
    file = downloaded_register(client, **{"camden-aq-0001": "Renamed by the file"})
    assert import_file(client, token, fmt, file, dry_run=False) == {
        "dry_run": False,
        "created": [],
        "changed": ["camden-aq-0001"],
        "changes": {
            "camden-aq-0001": {
                "name": {"before": "Air quality monitor", "after": "Renamed by the file"}
            }
        },
        "unchanged": [],
        "left_alone": ["hackney-aq-0001"],
    }
    with db.connect(web_settings) as conn:
        first = devices.get_device(conn, "camden-aq-0001")
    assert first is not None and first["name"] == "Renamed by the file"
    assert [action for action, _, _ in audit_events(web_settings, "camden-aq-0001")] == [
        "create",
        "update",
    ]
    assert organisation_rows(web_settings, "hackney") == hackney


def test_a_downloaded_register_that_changes_another_organisations_device_is_403(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    state = register_state(web_settings)
    changed = {"camden-aq-0001": "Renamed by the file", "hackney-aq-0001": "Taken over"}
    for dry_run in ("true", "false"):
        answer = client.post(
            f"/api/v1/devices/import?dry_run={dry_run}",
            json=downloaded_register(client, **changed),
            headers=bearer(token),
        )
        body = problem(answer, 403)
        assert "would create or change devices of hackney: 1 problem(s)" in body["detail"]
        assert [(e["place"], e["field"]) for e in body["errors"]] == [("device 2", "name")]
        assert (
            "hackney-aq-0001 is hackney's, and the file changes its name"
            in (body["errors"][0]["message"])
        )
    assert register_state(web_settings) == state


def test_a_token_records_when_it_was_last_used_at_most_once_a_minute(
    client: FlaskClient, token: str, web_settings: Settings
) -> None:
    def last_used() -> datetime | None:
        with db.connect(web_settings) as conn:
            row = conn.execute("SELECT last_used_at FROM api_tokens").fetchone()
        assert row is not None
        return row[0]

    assert last_used() is None
    headers = bearer(token, **{"If-Match": '"stale"'})
    client.delete("/api/v1/devices/camden-aq-0001", headers=headers)
    first = last_used()
    assert first is not None and datetime.now(UTC) - first < timedelta(seconds=30)
    client.delete("/api/v1/devices/camden-aq-0001", headers=headers)
    assert last_used() == first
    with db.connect(web_settings) as conn:
        conn.execute("UPDATE api_tokens SET last_used_at = now() - interval '2 minutes'")
        conn.commit()
    client.delete("/api/v1/devices/camden-aq-0001", headers=headers)
    latest = last_used()
    assert latest is not None and latest > first
