"""`/healthz` and `lamplighter web`: the site answers, and says when what it needs is down."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from flask.testing import FlaskClient

from register.platform.config import Settings
from register.stack.runtime import free_port
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
