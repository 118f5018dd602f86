"""`lamplighter up`: brings the stack up, stays in the foreground, and Ctrl-C takes it down."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from register.platform import config
from register.stack import embedded
from register.stack.runtime import free_port
from register.stack.supervisor import Supervisor
from tests.broker_access import refusal
from tests.conftest import make_stack_dir, run_cli, wait_until, write_stack_config


def fetch(url: str) -> str:
    """The page's text, or '' while the server does not answer yet."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local stack
            return response.read().decode()  # type: ignore[no-any-return]
    except OSError:
        return ""


def start_up(path: Path, *options: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMPLIGHTER_")}
    env["LAMPLIGHTER_CONFIG"] = str(path)
    # The ingester's Prometheus endpoint, on a port of its own rather than the default 9108.
    env["LAMPLIGHTER_INGEST_METRICS_PORT"] = str(free_port())
    env["LAMPLIGHTER_JOBS_METRICS_PORT"] = str(free_port())
    env["LAMPLIGHTER_WEB_PORT"] = str(free_port())
    return subprocess.Popen(
        [sys.executable, "-m", "register.platform.cli", "up", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        # A group of its own, so that a failing test can stop `up` and all its children at once.
        start_new_session=True,
    )


def read_until(process: subprocess.Popen[str], marker: str, timeout: float = 120) -> str:
    """Collect the child's output until a line containing `marker` (or fail after timeout)."""
    assert process.stdout is not None
    seen: list[str] = []
    done = threading.Event()

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if marker in line:
                done.set()  # and keep reading, so that the child never blocks on a full pipe

    threading.Thread(target=reader, daemon=True).start()
    assert done.wait(timeout), f"no {marker!r} in output:\n{''.join(seen)}"
    return "".join(seen)


def test_up_starts_services_migrates_and_ctrl_c_stops_what_it_started() -> None:
    directory = make_stack_dir("lamplighter-up-")
    path = write_stack_config(directory)
    settings = config.load(path, environ={})
    process = start_up(path)
    try:
        output = read_until(process, "Press Ctrl-C to stop")
        assert "postgresql  started" in output and "mosquitto   started" in output
        assert "applied migration 0002_readings" in output
        assert "Lamplighter is up (broker, ingest, simulate, web, jobs)" in output
        site = re.search(r"(http://\S+)/system ", output)
        assert site, output
        # The demo is live: the simulator publishes and the ingester stores what it accepts.
        deadline = time.monotonic() + 60
        stored = 0
        while not stored and time.monotonic() < deadline:
            time.sleep(0.5)
            with psycopg.connect(settings.database_url) as conn:
                stored = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
        assert stored > 0, "no readings arrived from the simulator"
        home = wait_until(lambda: fetch(site[1] + "/"), timeout=60, what="the home page")
        assert "Camden" in home
        the_first_credential_closes_the_broker_but_not_to_lamplighters_clients(path, site[1])

        # A demo device reporting every minute shows readings of the last minute on its page.
        def fresh_readings() -> list[dict[str, str]]:
            card = fetch(site[1] + "/devices/camden-aq-0001.json")
            latest = json.loads(card)["live"]["latest_readings"] if card else []
            now = datetime.now(UTC)
            return [
                r for r in latest if now - datetime.fromisoformat(r["at"]) < timedelta(minutes=1)
            ]

        wait_until(fresh_readings, timeout=90, what="a reading of the last minute on a device page")
        assert "Its newest open-data readings" in fetch(site[1] + "/devices/camden-aq-0001")
        # The demo's administrator gets a one-time link to the console.
        link = re.search(
            r"set the password of demo\.admin@lamplighter\.example at\n\s+(\S+)", output
        )
        assert link, output
        assert "Set your password" in fetch(link[1])
        # The scheduler ran every job as soon as it started.
        wait_until(
            lambda: all(
                job["last_run"] for job in json.loads(fetch(site[1] + "/system.json"))["jobs"]
            ),
            timeout=60,
            what="every job's first run on /system",
        )
        assert process.poll() is None, "up must stay in the foreground"
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        states = json.loads(run_cli("services", "status", "--json", config_path=path).stdout)
        assert [s["running"] for s in states] == [False, False]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        assert process.stdout is not None
        process.stdout.close()
        embedded.stop(settings)
        shutil.rmtree(directory, ignore_errors=True)


def the_first_credential_closes_the_broker_but_not_to_lamplighters_clients(
    path: Path, site: str
) -> None:
    """Within 5 s of the first device credential, anonymous clients are refused; the simulator
    and the ingester go on with accounts of their own, and /healthz connects as the ingester."""
    settings = config.load(path, environ={})
    port = settings.services.mqtt_port
    assert refusal(port, None, None) is None
    issued = run_cli("devices", "credentials", "issue", "camden-aq-0001", config_path=path)
    assert issued.returncode == 0, issued.stderr
    wait_until(
        lambda: refusal(port, None, None) == "Not authorized",
        timeout=5,
        what="the broker to refuse anonymous clients",
    )
    assert refusal(port, "camden-aq-0001", issued.stdout.strip()) is None

    def readings() -> int:
        with psycopg.connect(settings.database_url) as conn:
            return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])

    time.sleep(2)  # what was published before the broker closed has been stored by now
    before = readings()
    wait_until(
        lambda: readings() > before, timeout=60, what="readings from the simulator's own account"
    )
    health = json.loads(fetch(site + "/healthz"))
    assert health["broker"] == "ok", health


def test_up_leaves_running_services_it_did_not_start() -> None:
    """On a stack of its own: `up` gives Lamplighter's clients their accounts on the broker it
    finds running, which would change the session's broker for every later test."""
    directory = make_stack_dir("lamplighter-up-running-")
    path = write_stack_config(directory)
    settings = config.load(path, environ={})
    started = run_cli("services", "start", config_path=path)
    assert started.returncode == 0, started.stderr
    # Without the demo: seeding it takes seconds, and the test above covers it.
    process = start_up(path, "--no-demo")
    try:
        output = read_until(process, "Press Ctrl-C to stop")
        assert "running, pid" in output
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        states = json.loads(run_cli("services", "status", "--json", config_path=path).stdout)
        assert [s["running"] for s in states] == [True, True]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        assert process.stdout is not None
        process.stdout.close()
        embedded.stop(settings)
        shutil.rmtree(directory, ignore_errors=True)


def test_supervisor_restarts_a_child_that_exits_and_stops_on_request(tmp_path: Path) -> None:
    marker = tmp_path / "starts"
    # A child that records each start and exits at once, as a crashing process would.
    record_start = f"open({str(marker)!r}, 'a').write('x')"
    supervisor = Supervisor([("flaky", [])], None, command=[sys.executable, "-c", record_start])
    threading.Timer(4.0, supervisor.stopping.set).start()
    supervisor.run()
    starts = marker.read_text() if marker.exists() else ""
    # Exits at once back off 2 s, then 4 s: within 4 s it has started two or three times.
    assert 2 <= len(starts) <= 3
    assert supervisor.children[0].restarts >= 1
