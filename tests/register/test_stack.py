"""The embedded services: start, status, stop, data that survives a restart, and taken ports.

Each test here runs a stack of its own (not the session's), because it stops and restarts it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from register.platform import config
from register.platform.config import Settings
from register.stack import embedded, runtime
from tests.conftest import make_stack_dir, run_cli, write_stack_config


@pytest.fixture
def own_stack() -> Iterator[Path]:
    """A config file for a stack of this test's own, stopped and removed afterwards."""
    directory = make_stack_dir("lamplighter-own-")
    path = write_stack_config(directory)
    try:
        yield path
    finally:
        embedded.stop(config.load(path, environ={}))
        shutil.rmtree(directory, ignore_errors=True)


def status_of(path: Path) -> dict[str, dict[str, object]]:
    result = run_cli("services", "status", "--json", config_path=path)
    return {s["name"]: s for s in json.loads(result.stdout)}


def mqtt_client(
    client_id: str, settings: Settings, on_message: Callable[..., None] | None = None
) -> mqtt.Client:
    """A connected MQTT v5 client with a persistent session, its network loop running.
    `on_message` is set before connecting, so it also hears what the session kept."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if on_message is not None:
        client.on_message = on_message
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600
    client.connect(
        settings.services.host,
        settings.services.mqtt_port,
        clean_start=False,
        properties=properties,
    )
    client.loop_start()
    return client


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def publish_while_subscriber_is_away(settings: Settings, payload: bytes) -> None:
    """Make a persistent session, disconnect it, then publish a QoS 1 message for it."""
    subscribed = threading.Event()
    subscriber = mqtt_client("keeper", settings)
    subscriber.on_subscribe = lambda *args: subscribed.set()
    subscriber.subscribe("sensors/#", qos=1)
    assert subscribed.wait(10), "no SUBACK from the broker"
    close(subscriber)
    publisher = mqtt_client("publisher", settings)
    publisher.publish("sensors/no2", payload, qos=1).wait_for_publish(10)
    close(publisher)


def receive_queued(settings: Settings) -> list[bytes]:
    """Reconnect the persistent session and collect what the broker kept for it."""
    received: list[bytes] = []
    arrived = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        received.append(message.payload)
        arrived.set()

    subscriber = mqtt_client("keeper", settings, on_message)
    arrived.wait(10)
    close(subscriber)
    return received


def test_start_status_stop_and_data_survives_a_restart(own_stack: Path) -> None:
    settings = config.load(own_stack, environ={})
    before = status_of(own_stack)
    assert {s["running"] for s in before.values()} == {False}

    started = run_cli("services", "start", config_path=own_stack)
    assert started.returncode == 0, started.stderr
    assert "postgresql  started" in started.stdout and "mosquitto   started" in started.stdout
    status = run_cli("services", "status", config_path=own_stack)
    assert status.returncode == 0
    assert f"127.0.0.1:{settings.services.pg_port}" in status.stdout
    assert f"127.0.0.1:{settings.services.mqtt_port}" in status.stdout
    running = status_of(own_stack)
    assert all(s["running"] and s["pid"] for s in running.values())

    again = run_cli("services", "start", config_path=own_stack)
    assert again.returncode == 0 and "running, pid" in again.stdout  # a second start is a no-op

    with psycopg.connect(settings.database_url) as conn:
        conn.execute("CREATE TABLE kept (note text)")
        conn.execute("INSERT INTO kept VALUES ('still here')")
    publish_while_subscriber_is_away(settings, b"42.0")

    stopped = run_cli("services", "stop", config_path=own_stack)
    assert stopped.returncode == 0, stopped.stderr
    after_stop = run_cli("services", "status", config_path=own_stack)
    assert after_stop.returncode == 3
    assert {s["running"] for s in status_of(own_stack).values()} == {False}
    assert all(not runtime.process_alive(int(s["pid"])) for s in running.values())

    restarted = run_cli("services", "start", config_path=own_stack)
    assert restarted.returncode == 0, restarted.stderr
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute("SELECT note FROM kept").fetchall() == [("still here",)]
        assert conn.execute("SHOW shared_preload_libraries").fetchone() == ("timescaledb",)
    assert receive_queued(settings) == [b"42.0"]


@pytest.mark.parametrize(
    ("setting", "service"), [("pg_port", "PostgreSQL"), ("mqtt_port", "Mosquitto")]
)
def test_a_taken_port_is_a_clear_error_naming_it(
    tmp_path: Path, setting: str, service: str
) -> None:
    directory = make_stack_dir("lamplighter-taken-")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        path = write_stack_config(directory, **{setting: taken})
        try:
            result = run_cli("services", "start", config_path=path)
        finally:
            embedded.stop(config.load(path, environ={}))
            shutil.rmtree(directory, ignore_errors=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert f"port {taken} on 127.0.0.1 is already in use" in message
    assert service in message and f"services.{setting}" in message


def test_services_reach_a_data_dir_under_a_private_directory() -> None:
    """A checkout under /root (mode 0700) works: the service user is granted search permission."""
    outer = make_stack_dir("lamplighter-private-")
    private = outer / "home"
    private.mkdir(mode=0o700)
    path = write_stack_config(private)
    settings = config.load(path, environ={})
    try:
        states = embedded.start(settings)
        assert [s.running for s in states] == [True, True]
        with psycopg.connect(settings.database_url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        if os.geteuid() == 0:
            acl = subprocess.run(
                ["getfacl", "--omit-header", str(private)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert f"user:{settings.services.user}:--x" in acl
            assert private.stat().st_mode & 0o007 == 0  # other users still cannot enter
    finally:
        embedded.stop(settings)
        shutil.rmtree(outer, ignore_errors=True)
