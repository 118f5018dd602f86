"""`/healthz` and `lamplighter web`: the site answers, and says when what it needs is down."""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from register.platform import broker_clients
from register.platform.broker import broker_for
from register.platform.config import Settings
from register.stack.runtime import free_port
from tests.conftest import PasswordBroker
from web.app import create_app
from web.database import EXTENSION


def test_healthz_is_200_when_the_database_and_broker_answer(client: FlaskClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")


def test_healthz_is_503_naming_what_is_down(web_settings: Settings) -> None:
    closed = free_port()
    cases = {
        "broker": dataclasses.replace(
            web_settings,
            mqtt=dataclasses.replace(web_settings.mqtt, url=f"mqtt://127.0.0.1:{closed}"),
        ),
        "database": dataclasses.replace(
            web_settings,
            database=dataclasses.replace(
                web_settings.database,
                url=f"postgresql://lamplighter@127.0.0.1:{closed}/lamplighter",
                connect_timeout=1,
            ),
        ),
    }
    for down, settings in cases.items():
        app = create_app(settings)
        try:
            answer = app.test_client().get("/healthz")
        finally:
            app.extensions[EXTENSION].close()
        body = answer.get_json()
        assert answer.status_code == 503, down
        assert body["status"] == "unavailable"
        assert body[down].startswith("down")
        up = "database" if down == "broker" else "broker"
        assert body[up] == "ok"


def health(settings: Settings) -> tuple[int, dict[str, object]]:
    """The status and body of /healthz for an app with these settings."""
    app = create_app(settings)
    try:
        answer = app.test_client().get("/healthz")
    finally:
        app.extensions[EXTENSION].close()
    return answer.status_code, answer.get_json()


def test_healthz_is_503_naming_the_reason_when_the_broker_refuses_the_credentials(
    web_settings: Settings, password_broker: PasswordBroker
) -> None:
    cases = {
        "no credentials": ("", "", "not authorized"),
        "a wrong password": (password_broker.username, "wrong", "not authorized"),
        "an unknown user": ("nobody", password_broker.password, "not authorized"),
    }
    for case, (username, password, reason) in cases.items():
        status, body = health(password_broker.settings(web_settings, username, password))
        assert status == 503, case
        assert body["broker"] == f"down: refused by the broker: {reason}", case
        assert (body["status"], body["database"]) == ("unavailable", "ok"), case


def test_healthz_is_200_with_the_credentials_the_broker_takes(
    web_settings: Settings, password_broker: PasswordBroker
) -> None:
    right = password_broker.settings(
        web_settings, password_broker.username, password_broker.password
    )
    for protocol in ("5", "3.1.1"):
        settings = dataclasses.replace(
            right, mqtt=dataclasses.replace(right.mqtt, protocol=protocol)
        )
        status, body = health(settings)
        assert (status, body["broker"]) == (200, "ok"), protocol


def test_healthz_checks_tls_on_an_mqtts_url(web_settings: Settings) -> None:
    # The session's broker speaks plain MQTT only: TLS to it must fail, never pass as "ok".
    plain = urlsplit(web_settings.mqtt_url)
    mqtts = dataclasses.replace(
        web_settings,
        mqtt=dataclasses.replace(web_settings.mqtt, url=f"mqtts://{plain.netloc}"),
    )
    status, body = health(mqtts)
    assert status == 503
    assert str(body["broker"]).startswith("down: TLS failed"), body


def test_healthz_gives_up_on_a_silent_broker_within_its_bound(web_settings: Settings) -> None:
    # A listening socket nobody accepts from: the TCP connection opens, no CONNACK ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        settings = dataclasses.replace(
            web_settings,
            mqtt=dataclasses.replace(web_settings.mqtt, url=f"mqtt://127.0.0.1:{port}"),
        )
        started = time.monotonic()
        status, body = health(settings)
    assert time.monotonic() - started < 3.5
    assert (status, body["broker"]) == (503, "down: no answer from the broker within 2 s")


def test_lamplighter_web_serves_the_register_and_stops_on_sigterm(
    web_settings: Settings, stack_config: Path
) -> None:
    port = free_port()
    env = {"LAMPLIGHTER_CONFIG": str(stack_config), "LAMPLIGHTER_DATABASE_URL":
           web_settings.database_url, "PATH": "/usr/bin:/bin"}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "register.platform.cli", "web", "--port", str(port),
         "--workers", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        status = None
        while status is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    status = r.status
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        assert status == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert f"serving the register on http://127.0.0.1:{port}" in output


def test_healthz_connects_to_the_embedded_broker_as_the_ingester(
    web_settings: Settings, tmp_path: Path
) -> None:
    """With an account kept for the ingester, /healthz logs in as it: the session's broker has
    no such account, so it refuses, and says so (`lamplighter up` shows the other side)."""
    clients = tmp_path / "var" / "broker-clients"
    clients.mkdir(parents=True)
    (clients / broker_clients.INGEST).write_text("the ingester's password\n")
    services = dataclasses.replace(web_settings.services, data_dir=str(tmp_path / "var"))
    embedded = dataclasses.replace(web_settings, services=services)
    assert not embedded.mqtt.url and embedded.services.mqtt_port == web_settings.services.mqtt_port
    assert broker_for(embedded).username == broker_clients.INGEST
    status, body = health(embedded)
    assert (status, body["broker"]) == (503, "down: refused by the broker: not authorized")
    assert health(web_settings)[0] == 200
