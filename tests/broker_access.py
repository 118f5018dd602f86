"""A real Mosquitto that reads the access files Lamplighter writes, and MQTT clients that say
what the broker let them do. Used by the credential tests of register and ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from register.credentials import broker_accounts, broker_files, writer
from register.credentials.broker_files import Layout
from register.platform import db
from register.platform.config import Settings
from register.stack.runtime import RunAs, free_port
from tests.conftest import make_stack_dir, mosquitto_running, wait_until

OBSERVER = "observer.test"


@dataclass
class CredentialBroker:
    """A Mosquitto of its own reading the files Lamplighter writes, on a free port."""

    settings: Settings
    port: int
    directory: Path
    group: int | None
    process: subprocess.Popen[bytes] | None = None
    observer_password: str = ""

    @property
    def layout(self) -> Layout:
        return Layout(self.directory / "access")

    @property
    def log(self) -> Path:
        return self.directory / "mosquitto.log"

    def reload(self) -> bool:
        if self.process is None:
            return False
        os.kill(self.process.pid, signal.SIGHUP)
        return True

    @property
    def target(self) -> writer.Target:
        return writer.Target(self.layout, self.reload, self.group)

    def write_files(self) -> None:
        """The files from the register now, then the reload Mosquitto does on SIGHUP."""
        with db.connect(self.settings, autocommit=True) as conn:
            broker_files.replace_files(
                self.layout, broker_files.files_from_register(conn), group=self.group
            )
        self.reload()


@contextmanager
def running_credential_broker(migrated_settings: Settings) -> Iterator[CredentialBroker]:
    """The broker, with an observer account (`OBSERVER`) that reads every `lamplighter/#` topic;
    the `credential_broker` fixture."""
    directory = make_stack_dir("lamplighter-credential-broker-")
    run_as = RunAs.for_current_process(migrated_settings.services.user)
    broker = CredentialBroker(
        migrated_settings, free_port(), directory, run_as.gid if run_as.name else None
    )
    with db.connect(migrated_settings) as conn, conn.transaction():
        broker.observer_password = broker_accounts.add(
            conn, OBSERVER, reads=["lamplighter/#"], purpose="the tests' observer", by="tests"
        ).password
    broker.write_files()
    conf = directory / "mosquitto.conf"
    conf.write_text(
        f"listener {broker.port} 127.0.0.1\n"
        f"password_file {broker.layout.passwords}\nacl_file {broker.layout.acl}\n"
        f"include_dir {broker.layout.conf_dir}\n"
        "persistence false\nlog_dest stderr\nlog_type all\n",
        encoding="utf-8",
    )
    with mosquitto_running(migrated_settings, conf, broker.port, directory) as process:
        broker.process = process
        yield broker


class Client:
    """A paho MQTT 5 client that records its connection's outcome and what it receives."""

    def __init__(self, port: int, username: str | None, password: str | None) -> None:
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.refused: str | None = None
        self.received: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *args: self.disconnected.set()
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_until(lambda: self.connected.is_set() or self.refused is not None, what="a CONNACK")

    def _on_connect(self, _client: Any, _data: Any, _flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.refused = str(reason)
        else:
            self.connected.set()

    def publish(self, topic: str, payload: bytes) -> str:
        """Publish at QoS 1 and wait for the PUBACK: 'Success' when the broker took it (with
        or without subscribers), else its reason ('Not authorized')."""
        reasons: list[str] = []
        self.client.on_publish = lambda _c, _u, _mid, reason, _p: reasons.append(
            str(reason) if reason.is_failure else "Success"
        )
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)
        wait_until(lambda: reasons, what="a PUBACK")
        return reasons[0]

    def subscribe(self, topic_filter: str) -> str:
        """Subscribe at QoS 1; the SUBACK's reason ('Granted QoS 1', 'Not authorized')."""
        reasons: list[str] = []
        self.client.on_subscribe = lambda _c, _u, _mid, codes, _p: reasons.append(str(codes[0]))
        self.client.subscribe(topic_filter, qos=1)
        wait_until(lambda: reasons, what="a SUBACK")
        return reasons[0]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def refusal(port: int, username: str | None, password: str | None) -> str | None:
    """Why the broker refuses this login (None: it lets it in); the client is closed again."""
    client = Client(port, username, password)
    client.close()
    return client.refused


def observer(broker: CredentialBroker) -> Client:
    """A client that receives every `lamplighter/#` message the broker lets through."""
    watching = Client(broker.port, OBSERVER, broker.observer_password)
    assert watching.subscribe("lamplighter/#") == "Granted QoS 1"
    return watching
