"""Serving the site in production: `gunicorn -c deploy/gunicorn.conf.py`, as the README says."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from register.platform.config import Settings
from register.stack.runtime import free_port
from web.serving import gunicorn_options

CHECKOUT = Path(__file__).resolve().parents[2]


def first_health_answer(port: int, *, within: float) -> int | None:
    """The HTTP status of the first answer from /healthz on a loopback port within `within`
    seconds, or None."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return error.code
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    return None


def test_the_production_gunicorn_config_serves_on_the_configured_address(
    web_settings: Settings, stack_config: Path
) -> None:
    # The port and workers come from the settings' own variables, which the settings loader
    # knows; before, the config read LAMPLIGHTER_GUNICORN_*, which the loader refuses.
    port = free_port()
    env = {
        "LAMPLIGHTER_CONFIG": str(stack_config),
        "LAMPLIGHTER_DATABASE_URL": web_settings.database_url,
        "LAMPLIGHTER_WEB_PORT": str(port),
        "LAMPLIGHTER_WEB_WORKERS": "1",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "deploy/gunicorn.conf.py"],
        cwd=CHECKOUT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status = first_health_answer(port, within=30)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert status == 200, output
    assert "Booting worker" in output and output.count("Booting worker") == 1, output


def test_lamplighter_web_and_the_gunicorn_config_share_one_set_of_options(
    web_settings: Settings,
) -> None:
    options = gunicorn_options(web_settings, port=9999, workers=3)
    assert options["bind"] == f"{web_settings.web.host}:9999"
    assert options["workers"] == 3
    assert gunicorn_options(web_settings)["bind"].endswith(f":{web_settings.web.port}")
