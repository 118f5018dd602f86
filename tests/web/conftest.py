"""Fixtures for web tests: the application on a migrated database of the test's own."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from register.platform import db
from register.platform.config import Settings
from tests.register.factories import add_device, add_organisation
from tests.web.console_client import PASSWORD, add_account
from web.app import create_app
from web.database import EXTENSION

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


@pytest.fixture
def web_settings(migrated_settings: Settings) -> Settings:
    """Settings for the test's own migrated database, with no devices."""
    return migrated_settings


@pytest.fixture
def app(web_settings: Settings) -> Iterator[Flask]:
    application = create_app(web_settings)
    application.config["TESTING"] = True
    yield application
    application.extensions[EXTENSION].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CHROMIUM = "/usr/bin/chromium"
# The axe-core rules every page passes: WCAG 2.0, 2.1 and 2.2, levels A and AA.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page: Page) -> list[str]:
    """What axe-core finds wrong on the page as it is now, with where; empty when nothing."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return [
        f"{page.url} {v['id']}: {v['help']} "
        f"({[(n['target'], n['html'][:150]) for n in v['nodes']]})"
        for v in results.response["violations"]
    ]


def closed_before_sending(app: WSGIApplication) -> WSGIApplication:
    """`app`, with each response read whole and closed before werkzeug's test server sends it.

    That server skips closing a response when the browser resets the connection while it
    drains the socket (werkzeug 3.1, `serving.py` `execute`), so a static file's handle was
    left to the garbage collector: a ResourceWarning that failed whichever test was running.
    """

    def wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = app(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()

    return wsgi


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve `app` over HTTP on a free loopback port; its address. Stopped afterwards."""
    server = make_server("127.0.0.1", 0, closed_before_sending(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over HTTP on a free loopback port, for a real browser."""
    with serving(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium, the system's own (deploy/install puts it there)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def engineer(web_settings: Settings) -> str:
    """An engineer of Camden, with console_client.PASSWORD; their email. Camden and Hackney
    have one device each."""
    with db.connect(web_settings) as conn, conn.transaction():
        add_organisation(conn)
        add_organisation(conn, "hackney")
        add_device(conn, "camden-aq-0001")
        add_device(conn, "hackney-aq-0001", organisation="hackney")
    return add_account(web_settings, "camden", "ada@camden.gov.uk")


def blocked_by_policy(page: Page) -> list[str]:
    """A list that fills with each thing the site's Content-Security-Policy blocks on `page`
    (an inline script or style, a file from elsewhere), as Chromium reports it."""
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return blocked


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in its own browser context. Anything the Content-Security-Policy blocked
    while the test used it fails the test."""
    context = browser.new_context()
    fresh = context.new_page()
    blocked = blocked_by_policy(fresh)
    yield fresh
    context.close()
    assert blocked == [], f"blocked by the Content-Security-Policy: {blocked}"


def sign_in_with_the_browser(page: Page, site: str, email: str, then: str = "") -> None:
    """Sign in on the console's login page as a person does (PASSWORD), then go to `then`."""
    page.goto(f"{site}/console/login" + (f"?next={then}" if then else ""))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
