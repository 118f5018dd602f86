"""The console's sign-in: form tokens, one answer for every refusal, fresh sessions, limits that
hold across gunicorn workers, one-time password links, and sign-out."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from register.accounts import logins, sessions, users
from register.platform import db
from register.platform.config import Settings
from register.stack.runtime import free_port
from tests.conftest import wait_until
from tests.register.factories import add_organisation
from tests.web.console_client import PASSWORD, TOKEN, form_token, sign_in
from web.app import create_app
from web.database import EXTENSION


def test_signing_in_opens_the_console_of_ones_own_organisation_with_a_fresh_session(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    assert client.get("/console/").headers["Location"].startswith("/console/login")
    # A session secret chosen by someone else is planted first: signing in must not adopt it.
    planted = "chosen-by-someone-else"
    client.set_cookie("lamplighter_session", planted, path="/console")
    response = sign_in(client, engineer)
    assert response.status_code == 302 and response.headers["Location"] == "/console/"  # type: ignore[attr-defined]
    cookie = response.headers["Set-Cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    secret = re.search(r"lamplighter_session=([^;]+)", cookie)
    assert secret and secret[1] != planted
    with db.connect(web_settings) as conn, conn.transaction():
        assert sessions.find(conn, planted, idle_seconds=600) is None
        assert sessions.find(conn, secret[1], idle_seconds=600) is not None
    home = client.get("/console/")
    page = home.get_data(as_text=True)
    assert home.status_code == 200 and home.headers["Cache-Control"] == "no-store"
    assert "London Borough of Camden: the console" in page
    assert "/devices/camden-aq-0001" in page and "hackney-aq-0001" not in page
    with db.connect(web_settings) as conn, conn.transaction():
        stored = conn.execute("SELECT * FROM user_sessions").fetchall()
    assert secret[1] not in repr(stored)  # only its hash is stored


def test_a_post_without_its_form_token_is_refused(client: FlaskClient, engineer: str) -> None:
    refused = client.post("/console/login", data={"email": engineer, "password": PASSWORD})
    assert refused.status_code == 403
    assert "security token is missing" in refused.get_data(as_text=True)
    sign_in(client, engineer)
    assert client.post("/console/logout").status_code == 403
    assert client.post("/console/logout", data={"csrf_token": "guessed"}).status_code == 403
    assert client.get("/console/").status_code == 200  # still signed in


def test_wrong_password_and_unknown_account_get_the_same_answer(
    client: FlaskClient, engineer: str
) -> None:
    answers = []
    for email, password in [(engineer, "not the password"), ("nobody@camden.gov.uk", PASSWORD)]:
        response = sign_in(client, email, password)
        assert response.status_code == 401  # type: ignore[attr-defined]
        page = response.get_data(as_text=True)  # type: ignore[attr-defined]
        answers.append(re.search(r'role="alert"[^>]*>([^<]+)<', page)[1])  # type: ignore[index]
        assert f'value="{email}"' in page  # what was typed is kept, never the password
        assert password not in page
    assert answers == [logins.WRONG, logins.WRONG]


def test_signing_out_ends_the_session(client: FlaskClient, engineer: str) -> None:
    sign_in(client, engineer)
    token = form_token(client, "/console/")
    signed_out = client.post("/console/logout", data={"csrf_token": token})
    assert signed_out.status_code == 302
    assert client.get("/console/").status_code == 302


def test_a_password_link_sets_the_password_once(
    client: FlaskClient, web_settings: Settings
) -> None:
    with db.connect(web_settings) as conn, conn.transaction():
        add_organisation(conn)
        _, secret = users.add_user(
            conn, organisation="camden", email="bo@camden.gov.uk", role="admin"
        )
    path = f"/console/password/{secret}"
    opened = client.get(path).get_data(as_text=True)
    # It names the account, and gives password managers its name to keep the password with.
    assert "the password of <strong>bo@camden.gov.uk</strong>" in opened
    assert 'autocomplete="username" value="bo@camden.gov.uk" readonly hidden' in opened
    token = form_token(client, path)
    mismatch = client.post(
        path, data={"password": PASSWORD, "confirm": PASSWORD + "!", "csrf_token": token}
    )
    assert mismatch.status_code == 400 and "not the same" in mismatch.get_data(as_text=True)
    weak = client.post(path, data={"password": "short", "confirm": "short", "csrf_token": token})
    assert weak.status_code == 400 and "at least 12 characters" in weak.get_data(as_text=True)
    done = client.post(path, data={"password": PASSWORD, "confirm": PASSWORD, "csrf_token": token})
    assert done.status_code == 302 and "password_set=1" in done.headers["Location"]
    assert client.get(path).status_code == 410
    assert sign_in(client, "bo@camden.gov.uk").status_code == 302  # type: ignore[attr-defined]


@pytest.fixture
def two_workers(web_settings: Settings) -> Iterator[str]:
    """`lamplighter web` with 2 gunicorn workers on this test's database; its address."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMPLIGHTER_")}
    env["LAMPLIGHTER_DATABASE_URL"] = web_settings.database_url
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "register.platform.cli",
            "web",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    site = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(site + "/healthz"), timeout=30, what="gunicorn to serve")
        yield site
    finally:
        process.terminate()
        process.wait(15)


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)  # noqa: S310 - the test's own server
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def test_the_sixth_login_within_a_minute_is_refused_even_right_across_two_gunicorn_workers(
    engineer: str, two_workers: str
) -> None:
    statuses = []
    for attempt in range(logins.LIMIT_PER_ACCOUNT + 1):
        # A new client each time, as an attacker spreading attempts over workers would be.
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(two_workers + "/console/login", timeout=5).read().decode()
        token = TOKEN.search(page)[1]  # type: ignore[index]
        last = attempt == logins.LIMIT_PER_ACCOUNT
        form = {"email": engineer, "password": PASSWORD if last else "wrong", "csrf_token": token}
        request = urllib.request.Request(  # noqa: S310 - the test's own server
            two_workers + "/console/login", data=urllib.parse.urlencode(form).encode()
        )
        try:
            response = opener.open(request, timeout=10)
            statuses.append((response.status, ""))
        except urllib.error.HTTPError as refused:
            statuses.append((refused.code, refused.read().decode()))
    assert [code for code, _ in statuses] == [401] * 6
    assert "Too many failed attempts" in statuses[-1][1]


def test_a_signed_in_post_needs_the_sessions_own_token_not_the_one_from_before_sign_in(
    client: FlaskClient, engineer: str, web_settings: Settings
) -> None:
    before = form_token(client)
    sign_in(client, engineer)
    assert client.post("/console/logout", data={"csrf_token": before}).status_code == 403
    # A session that went idle: signing out just leads to the login page.
    with db.connect(web_settings) as conn, conn.transaction():
        conn.execute("UPDATE user_sessions SET last_seen_at = now() - interval '1 day'")
    gone = client.post("/console/logout", data={})
    assert gone.status_code == 302 and "signed_out=1" in gone.headers["Location"]
    assert client.get("/console/").status_code == 302


def test_a_form_with_a_nul_character_is_a_clear_400(client: FlaskClient, engineer: str) -> None:
    token = form_token(client)
    refused = client.post(
        "/console/login",
        data={"email": "ada\x00@camden.gov.uk", "password": "x", "csrf_token": token},
    )
    assert refused.status_code == 400
    assert "NUL character" in refused.get_data(as_text=True)


def test_a_console_page_with_the_database_down_gets_the_sites_own_error_page(
    web_settings: Settings,
) -> None:
    """Nothing on an error page asks the database: who is signed in is only what the request
    found out already, so an outage is the site's 500 page, not an error escaping it."""
    down = web_settings.with_values(
        "database",
        url=f"postgresql://lamplighter@127.0.0.1:{free_port()}/lamplighter",
        connect_timeout=1,
    )
    app = create_app(down)
    try:
        client = app.test_client()
        client.set_cookie("lamplighter_session", "the-secret-of-a-session", path="/console")
        answer = client.get("/console/")
    finally:
        app.extensions[EXTENSION].close()
    assert answer.status_code == 500
    page = answer.get_data(as_text=True)
    assert "<h1>Internal Server Error</h1>" in page
    assert '<a href="/console/login">sign in to the console</a>' in page
