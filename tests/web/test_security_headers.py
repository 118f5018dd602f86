"""Security headers on every kind of response, and the client's address behind a trusted proxy."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from register.platform import db
from register.platform.config import Settings
from tests.web.console_client import form_token
from web.app import create_app
from web.database import EXTENSION
from web.security_headers import content_security_policy, tile_source


@pytest.mark.parametrize(
    "path",
    ["/", "/devices/camden-aq-0001", "/api/v1/devices", "/console/login", "/no-such-page",
     "/static/site.css", "/register.csv"],
)  # fmt: skip
def test_every_response_carries_the_security_headers(
    client: FlaskClient, engineer: str, path: str
) -> None:
    with client.get(path) as response:
        assert response.status_code in (200, 404)
        headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in headers


def test_https_requests_also_get_hsts(client: FlaskClient) -> None:
    response = client.get("/about", base_url="https://sensors.example.org")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize(
    ("template", "source"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tiles.example.org:8443/{z}/{x}/{y}.png", "https://*.tiles.example.org:8443"),
        ("/tiles/{z}/{x}/{y}.png", ""),
    ],
)
def test_the_policy_allows_images_from_the_tile_server_only(template: str, source: str) -> None:
    assert tile_source(template) == source
    policy = content_security_policy(Settings().with_values("web", tile_url=template))
    assert f"img-src 'self' data: {source}".strip() + ";" in policy


def _failed_addresses(settings: Settings) -> list[str]:
    with db.connect(settings) as conn:
        return [row[0] for row in conn.execute("SELECT address FROM login_failures ORDER BY id")]


@pytest.mark.parametrize(("proxies", "counted"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_a_failed_sign_in_counts_against_the_forwarded_address_only_behind_a_trusted_proxy(
    web_settings: Settings, engineer: str, proxies: int, counted: str
) -> None:
    settings = web_settings.with_values("web", trusted_proxies=proxies)
    app = create_app(settings)
    try:
        client = app.test_client()
        forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        token = form_token(client)
        response = client.post(
            "/console/login",
            data={"email": engineer, "password": "wrong password", "csrf_token": token},
            headers=forwarded,
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )
        assert response.status_code == 401
        assert _failed_addresses(settings) == [counted]
        # Behind the proxy, its HTTPS counts: HSTS, and the cookies would be Secure.
        assert ("Strict-Transport-Security" in response.headers) == bool(proxies)
    finally:
        app.extensions[EXTENSION].close()
