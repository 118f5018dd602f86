"""Device credentials on a real Mosquitto: the password file and ACL written from the register
let a device publish as itself only; a wrong password, an anonymous client and a revoked or
decommissioned device's credential are refused; no password is kept in clear."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from register import devices
from register.audit import Actor, NotAllowed
from register.credentials import broker_files, device_credentials, mosquitto_hash, writer
from register.credentials.broker_files import Account
from register.platform import db
from register.platform.config import Settings
from register.queries import Conn
from register.stack.runtime import RunAs, free_port
from tests.conftest import make_stack_dir, mosquitto_running, run_cli, wait_until
from tests.register.factories import ADMIN, add_device

OBSERVER = "observer"
OBSERVER_PASSWORD = "an observer's long password"


@dataclass
class CredentialBroker:
    """A Mosquitto of its own reading the files Lamplighter writes, on a free port."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None
    group: int | None

    @property
    def passwords(self) -> Path:
        return self.directory / "passwd"

    @property
    def acl(self) -> Path:
        return self.directory / "acl"

    def write_files(self, conn: Conn) -> None:
        """The files from the register (with an observer that may read every topic), then the
        reload Mosquitto does on SIGHUP."""
        observer = Account(
            OBSERVER, mosquitto_hash.hash_password(OBSERVER_PASSWORD), ("read lamplighter/#",)
        )
        passwords, acl = broker_files.files_from_register(conn, [observer])
        broker_files.replace_file(self.passwords, passwords, group=self.group)
        broker_files.replace_file(self.acl, acl, group=self.group)
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGHUP)


@pytest.fixture
def credential_broker(migrated_settings: Settings) -> Iterator[CredentialBroker]:
    directory = make_stack_dir("lamplighter-credential-broker-")
    run_as = RunAs.for_current_process(migrated_settings.services.user)
    port = free_port()
    conf = directory / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {directory / 'passwd'}\nacl_file {directory / 'acl'}\n"
        "persistence false\nlog_dest stderr\n",
        encoding="utf-8",
    )
    holder = CredentialBroker(port, directory, None, run_as.gid if run_as.name else None)
    with db.connect(migrated_settings) as conn:
        holder.write_files(conn)
    with mosquitto_running(migrated_settings, conf, port, directory) as process:
        holder.process = process
        yield holder


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

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def refusal(port: int, username: str | None, password: str | None) -> str | None:
    """Why the broker refuses this login (None: it lets it in); the client is closed again."""
    client = Client(port, username, password)
    client.close()
    return client.refused


def _observer(port: int) -> Client:
    observer = Client(port, OBSERVER, OBSERVER_PASSWORD)
    observer.client.subscribe("lamplighter/#", qos=1)
    return observer


def test_a_device_publishes_as_itself_only_and_wrong_or_missing_passwords_are_refused(
    migrated_settings: Settings, credential_broker: CredentialBroker
) -> None:
    with db.connect(migrated_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        add_device(conn, "camden-aq-0002")
        issued = device_credentials.issue(conn, "camden-aq-0001", ADMIN)
    with db.connect(migrated_settings) as conn:
        credential_broker.write_files(conn)
    port = credential_broker.port
    observer = _observer(port)
    device = Client(port, "camden-aq-0001", issued.password)
    try:
        assert device.connected.is_set(), device.refused
        device.publish("lamplighter/camden/camden-aq-0002/up", b"as another device")
        device.publish("lamplighter/camden/camden-aq-0001/up", b"as itself")
        wait_until(lambda: observer.received, what="the device's own message")
        assert observer.received == [("lamplighter/camden/camden-aq-0001/up", b"as itself")]
    finally:
        device.close()
        observer.close()
    assert refusal(port, "camden-aq-0001", issued.password + "x") == "Not authorized"
    assert refusal(port, "camden-aq-0002", issued.password) == "Not authorized"
    assert refusal(port, None, None) == "Not authorized"


def test_a_revoked_or_decommissioned_devices_credential_is_refused_and_its_client_dropped(
    migrated_settings: Settings, credential_broker: CredentialBroker
) -> None:
    with db.connect(migrated_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        add_device(conn, "camden-aq-0002")
        first = device_credentials.issue(conn, "camden-aq-0001", ADMIN)
        second = device_credentials.issue(conn, "camden-aq-0002", ADMIN)
    with db.connect(migrated_settings) as conn:
        credential_broker.write_files(conn)
    port = credential_broker.port
    connected = [Client(port, "camden-aq-0001", first.password)]
    connected.append(Client(port, "camden-aq-0002", second.password))
    assert all(client.connected.is_set() for client in connected)
    with db.connect(migrated_settings) as conn, conn.transaction():
        assert device_credentials.revoke(conn, "camden-aq-0001", ADMIN)
        devices.decommission_device(conn, "camden-aq-0002", ADMIN)
        credential_broker.write_files(conn)
    try:
        for client in connected:
            wait_until(client.disconnected.is_set, what="the broker to drop a revoked client")
    finally:
        for client in connected:
            client.close()
    assert refusal(port, "camden-aq-0001", first.password) == "Not authorized"
    assert refusal(port, "camden-aq-0002", second.password) == "Not authorized"


def test_issuing_again_replaces_the_credential_and_only_hashes_are_kept(
    migrated_settings: Settings, credential_broker: CredentialBroker
) -> None:
    with db.connect(migrated_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        old = device_credentials.issue(conn, "camden-aq-0001", ADMIN)
        new = device_credentials.issue(conn, "camden-aq-0001", ADMIN)
        assert new.replaced and not old.replaced and new.password != old.password
        credential_broker.write_files(conn)
        rows = conn.execute("SELECT * FROM device_credentials ORDER BY id").fetchall()
        listed = device_credentials.list_credentials(conn, "camden")
    assert len(rows) == 2 and [r["revoked_at"] is None for r in listed] == [True, False]
    for password in (old.password, new.password):
        assert password not in repr(rows) and password not in repr(listed)
        assert password not in credential_broker.passwords.read_text()
    (line,) = [
        line
        for line in credential_broker.passwords.read_text().splitlines()
        if line.startswith("camden-aq-0001:")
    ]
    assert mosquitto_hash.verify(new.password, line.split(":", 1)[1])
    assert not mosquitto_hash.verify(old.password, line.split(":", 1)[1])
    port = credential_broker.port
    assert refusal(port, "camden-aq-0001", old.password) == "Not authorized"
    fresh = Client(port, "camden-aq-0001", new.password)
    assert fresh.connected.is_set()
    fresh.close()


def test_credentials_are_scoped_to_the_devices_organisation(conn: Conn) -> None:
    add_device(conn, "camden-aq-0001")
    add_device(conn, "hackney-aq-0001", organisation="hackney")
    camden = conn.execute("SELECT id FROM organisations WHERE slug = 'camden'").fetchone()
    assert camden is not None
    engineer = Actor("an engineer of camden", organisation_id=camden[0])
    assert device_credentials.issue(conn, "camden-aq-0001", engineer).username == "camden-aq-0001"
    with pytest.raises(NotAllowed):
        device_credentials.issue(conn, "hackney-aq-0001", engineer)
    with pytest.raises(NotAllowed):
        device_credentials.revoke(conn, "hackney-aq-0001", engineer)
    with pytest.raises(device_credentials.UnknownDevice):
        device_credentials.issue(conn, "camden-aq-9999", engineer)
    devices.decommission_device(conn, "camden-aq-0001", engineer)
    with pytest.raises(device_credentials.CredentialError, match="decommissioned"):
        device_credentials.issue(conn, "camden-aq-0001", engineer)
    listed = device_credentials.list_credentials(conn)
    assert [(c["public_id"], c["revoked_by"]) for c in listed] == [
        ("camden-aq-0001", "an engineer of camden")
    ]


def test_the_command_line_issues_a_password_once_and_revokes_and_lists(
    migrated_settings: Settings, conn: Conn
) -> None:
    add_device(conn, "camden-aq-0001")
    conn.commit()
    env = {"LAMPLIGHTER_DATABASE_URL": migrated_settings.database_url}
    issued = run_cli("devices", "credentials", "issue", "camden-aq-0001", env=env)
    assert issued.returncode == 0, issued.stderr
    password = issued.stdout.strip()
    assert len(password) >= 32 and "shown this once" in issued.stderr
    (stored,) = conn.execute("SELECT password_hash FROM device_credentials").fetchone() or ()
    assert mosquitto_hash.verify(password, stored) and password not in stored
    listed = run_cli("devices", "credentials", "list", "--org", "camden", env=env)
    assert listed.stdout.startswith("camden-aq-0001\tissued ") and password not in listed.stdout
    revoked = run_cli("devices", "credentials", "revoke", "camden-aq-0001", env=env)
    assert revoked.stdout == "camden-aq-0001: its MQTT credential is revoked\n"
    unknown = run_cli("devices", "credentials", "issue", "camden-aq-9999", env=env)
    assert unknown.returncode == 1 and "there is no device 'camden-aq-9999'" in unknown.stderr


def test_the_writer_brings_every_change_to_the_broker_within_seconds(
    migrated_settings: Settings, credential_broker: CredentialBroker
) -> None:
    """A credential issued or revoked in another connection (any web worker or process) reaches
    the broker through the notification; the writer rewrites the files and the broker reloads."""
    assert credential_broker.process is not None
    pid = credential_broker.process.pid
    target = writer.Target(
        credential_broker.passwords,
        credential_broker.acl,
        lambda: os.kill(pid, signal.SIGHUP),
        credential_broker.group,
    )
    observer = Account(
        OBSERVER, mosquitto_hash.hash_password(OBSERVER_PASSWORD), ("read lamplighter/#",)
    )
    writes: list[bool] = []
    stopping = threading.Event()
    follower = threading.Thread(
        target=writer.follow,
        args=(migrated_settings, target, [observer], stopping, writes.append),
    )
    follower.start()
    try:
        wait_until(lambda: writes, what="the writer's first write")
        with db.connect(migrated_settings) as conn, conn.transaction():
            add_device(conn, "camden-aq-0001")
            issued = device_credentials.issue(conn, "camden-aq-0001", ADMIN)
        # The issue's bound: a change reaches the broker within 5 s.
        wait_until(
            lambda: refusal(credential_broker.port, "camden-aq-0001", issued.password) is None,
            timeout=5,
            what="the issued credential to work",
        )
        device = Client(credential_broker.port, "camden-aq-0001", issued.password)
        with db.connect(migrated_settings) as conn, conn.transaction():
            device_credentials.revoke(conn, "camden-aq-0001", ADMIN)
        wait_until(device.disconnected.is_set, timeout=5, what="the revoked client to be dropped")
        device.close()
        # The files are the register's: written again from it, they are the same.
        with db.connect(migrated_settings) as conn:
            assert broker_files.files_from_register(conn, [observer]) == (
                credential_broker.passwords.read_text(),
                credential_broker.acl.read_text(),
            )
    finally:
        stopping.set()
        follower.join(10)
    assert not follower.is_alive() and True in writes
