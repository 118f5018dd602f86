"""Device credentials on a real Mosquitto: the password file and ACL written from the register
let a device publish as itself only; a wrong password, an anonymous client and a revoked or
decommissioned device's credential are refused; no password is kept in clear."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from register import devices
from register.audit import Actor, NotAllowed
from register.credentials import (
    broker_accounts,
    broker_files,
    device_credentials,
    mosquitto_hash,
    writer,
)
from register.platform import db
from register.platform.config import Settings
from register.queries import Conn
from tests.broker_access import (
    Client,
    CredentialBroker,
    observer,
    refusal,
)
from tests.conftest import run_cli, wait_until
from tests.register.factories import ADMIN, add_device


def test_a_device_publishes_as_itself_only_and_wrong_or_missing_passwords_are_refused(
    migrated_settings: Settings, credential_broker: CredentialBroker
) -> None:
    with db.connect(migrated_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        add_device(conn, "camden-aq-0002")
        issued = device_credentials.issue(conn, "camden-aq-0001", ADMIN)
    credential_broker.write_files()
    port = credential_broker.port
    watching = observer(credential_broker)
    device = Client(port, "camden-aq-0001", issued.password)
    try:
        assert device.connected.is_set(), device.refused
        assert device.publish("lamplighter/camden/camden-aq-0002/up", b"as another") == (
            "Not authorized"
        )
        assert device.publish("lamplighter/camden/camden-aq-0001/up", b"as itself") == "Success"
        assert device.publish("lamplighter/camden/camden-aq-0001/senml", b"[]") == "Success"
        assert device.publish("lamplighter/camden/camden-aq-0001/down", b"x") == "Not authorized"
        # Mosquitto grants the subscription, then delivers nothing the ACL does not let it read.
        device.subscribe("lamplighter/#")
        assert device.publish("lamplighter/camden/camden-aq-0001/up", b"again") == "Success"
        wait_until(lambda: len(watching.received) == 3, what="the device's own messages")
        assert watching.received == [
            ("lamplighter/camden/camden-aq-0001/up", b"as itself"),
            ("lamplighter/camden/camden-aq-0001/senml", b"[]"),
            ("lamplighter/camden/camden-aq-0001/up", b"again"),
        ]
        assert device.received == []
    finally:
        device.close()
        watching.close()
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
    credential_broker.write_files()
    port = credential_broker.port
    connected = [Client(port, "camden-aq-0001", first.password)]
    connected.append(Client(port, "camden-aq-0002", second.password))
    assert all(client.connected.is_set() for client in connected)
    with db.connect(migrated_settings) as conn, conn.transaction():
        assert device_credentials.revoke(conn, "camden-aq-0001", ADMIN)
        devices.decommission_device(conn, "camden-aq-0002", ADMIN)
    credential_broker.write_files()
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
    credential_broker.write_files()
    on_the_old_password = Client(credential_broker.port, "camden-aq-0001", old.password)
    assert on_the_old_password.connected.is_set()
    with db.connect(migrated_settings) as conn, conn.transaction():
        new = device_credentials.issue(conn, "camden-aq-0001", ADMIN)
        assert new.replaced and not old.replaced and new.password != old.password
        rows = conn.execute("SELECT * FROM device_credentials ORDER BY id").fetchall()
        listed = device_credentials.list_credentials(conn, "camden")
    credential_broker.write_files()
    # The broker drops a client whose password is no longer the one in the file.
    wait_until(on_the_old_password.disconnected.is_set, timeout=5, what="the old client dropped")
    on_the_old_password.close()
    passwords = credential_broker.layout.passwords.read_text()
    assert len(rows) == 2 and [r["revoked_at"] is None for r in listed] == [True, False]
    for password in (old.password, new.password):
        assert password not in repr(rows) and password not in repr(listed)
        assert password not in passwords
    (line,) = [line for line in passwords.splitlines() if line.startswith("camden-aq-0001:")]
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
    assert "the register's first device credential" in issued.stderr
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
    writes: list[bool] = []
    stopping = threading.Event()
    follower = threading.Thread(
        target=writer.follow,
        args=(migrated_settings, credential_broker.target, stopping, writes.append),
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
        # Decommissioning, in another process's transaction, cuts the device off as quickly.
        with db.connect(migrated_settings) as conn, conn.transaction():
            add_device(conn, "camden-aq-0002")
            second = device_credentials.issue(conn, "camden-aq-0002", ADMIN)
        wait_until(
            lambda: refusal(credential_broker.port, "camden-aq-0002", second.password) is None,
            timeout=5,
            what="the second credential to work",
        )
        device = Client(credential_broker.port, "camden-aq-0002", second.password)
        with db.connect(migrated_settings) as conn, conn.transaction():
            devices.decommission_device(conn, "camden-aq-0002", ADMIN)
        wait_until(device.disconnected.is_set, timeout=5, what="the decommissioned device dropped")
        device.close()
        assert refusal(credential_broker.port, "camden-aq-0002", second.password) == (
            "Not authorized"
        )
        # The files are the register's: written again from it, they are the same.
        layout = credential_broker.layout
        with db.connect(migrated_settings) as conn:
            assert broker_files.files_from_register(conn) == broker_files.BrokerFiles(
                layout.passwords.read_text(), layout.acl.read_text(), layout.anonymous.read_text()
            )
    finally:
        stopping.set()
        follower.join(10)
    assert not follower.is_alive() and True in writes


def test_anonymous_clients_are_let_in_only_until_the_first_device_credential(
    migrated_settings: Settings, credential_broker: CredentialBroker
) -> None:
    port = credential_broker.port
    anonymous = Client(port, None, None)
    assert anonymous.connected.is_set(), anonymous.refused
    assert anonymous.publish("lamplighter/camden/camden-aq-0001/up", b"{}") == "Success"
    stopping = threading.Event()
    follower = threading.Thread(
        target=writer.follow, args=(migrated_settings, credential_broker.target, stopping)
    )
    follower.start()
    try:
        with db.connect(migrated_settings) as conn, conn.transaction():
            add_device(conn, "camden-aq-0001")
            issued = device_credentials.issue(conn, "camden-aq-0001", ADMIN)
        wait_until(anonymous.disconnected.is_set, timeout=5, what="the anonymous client dropped")
        assert refusal(port, None, None) == "Not authorized"
        assert refusal(port, "camden-aq-0001", issued.password) is None
        assert "allow_anonymous false" in credential_broker.layout.anonymous.read_text()
        assert "topic readwrite #" not in credential_broker.layout.acl.read_text()
        # Revoking every credential since does not open the broker again.
        with db.connect(migrated_settings) as conn, conn.transaction():
            device_credentials.revoke(conn, "camden-aq-0001", ADMIN)
        wait_until(
            lambda: refusal(port, "camden-aq-0001", issued.password) == "Not authorized",
            timeout=5,
            what="the revoked credential refused",
        )
        assert refusal(port, None, None) == "Not authorized"
        assert "allow_anonymous false" in credential_broker.layout.anonymous.read_text()
    finally:
        stopping.set()
        follower.join(10)
        anonymous.close()


def test_an_integration_account_writes_only_its_own_filters(
    migrated_settings: Settings, credential_broker: CredentialBroker
) -> None:
    with db.connect(migrated_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        device_credentials.issue(conn, "camden-aq-0001", ADMIN)
        ttn = broker_accounts.add(
            conn,
            "ttn.camden",
            writes=["v3/camden-sensors@ttn/devices/+/up"],
            purpose="The Things Stack's Pub/Sub for Camden's application",
            by="tests",
        )
        reader = broker_accounts.add(
            conn, "reader.test", reads=["v3/#"], purpose="reads what TTN sends", by="tests"
        )
    credential_broker.write_files()
    port = credential_broker.port
    listening = Client(port, "reader.test", reader.password)
    assert listening.subscribe("v3/#") == "Granted QoS 1"
    integration = Client(port, "ttn.camden", ttn.password)
    try:
        assert integration.publish("v3/camden-sensors@ttn/devices/lora-1/up", b"1") == "Success"
        assert integration.publish("v3/hackney@ttn/devices/lora-1/up", b"2") == "Not authorized"
        assert integration.publish("lamplighter/camden/camden-aq-0001/up", b"3") == (
            "Not authorized"
        )
        wait_until(lambda: listening.received, what="the integration's uplink")
        assert listening.received == [("v3/camden-sensors@ttn/devices/lora-1/up", b"1")]
    finally:
        integration.close()
        listening.close()
    with db.connect(migrated_settings) as conn, conn.transaction():
        assert broker_accounts.revoke(conn, "ttn.camden", "tests")
        assert not broker_accounts.revoke(conn, "ttn.camden", "tests")
    credential_broker.write_files()
    wait_until(
        lambda: refusal(port, "ttn.camden", ttn.password) == "Not authorized",
        timeout=5,
        what="the revoked account refused",
    )


@pytest.mark.parametrize(
    ("username", "reads", "writes", "problem"),
    [
        ("ttn", [], ["v3/#"], "not a broker account name"),
        ("camden-aq-0001", [], ["v3/#"], "not a broker account name"),
        ("TTN.camden", [], ["v3/#"], "not a broker account name"),
        ("ttn.camden", [], [], "at least one topic filter"),
        ("ttn.camden", [], ["v3/#/up"], "'#' must be a whole level, and the last"),
        ("ttn.camden", ["v3/a+/up"], [], "'+' must be a whole level"),
        ("ttn.camden", [], ["v3/%u/up"], "a '%' in it"),
        ("ttn.camden", [], ["v3/#\nuser admin"], "a control character"),
        ("ttn.camden", [], ["v3/a b"], "a blank"),
        ("ttn.camden", [""], [], "cannot be empty"),
        ("ttn.camden", ["$share/g/v3/#"], [], "give the topic itself"),
        ("ttn.camden", [], ["v3/${username}/up"], "a placeholder to EMQX"),
    ],
)
def test_a_broker_account_that_would_bend_the_acl_is_refused_with_its_reason(
    conn: Conn, username: str, reads: list[str], writes: list[str], problem: str
) -> None:
    with pytest.raises(broker_accounts.AccountError, match=re.escape(problem)):
        broker_accounts.add(conn, username, reads=reads, writes=writes, purpose="x", by="tests")
    assert conn.execute("SELECT count(*) FROM broker_accounts").fetchone() == (0,)


def test_the_command_line_adds_lists_and_revokes_broker_accounts_and_writes_the_files(
    migrated_settings: Settings, conn: Conn, tmp_path: Path
) -> None:
    env = {"LAMPLIGHTER_DATABASE_URL": migrated_settings.database_url}
    added = run_cli(
        "broker", "accounts", "add", "chirpstack.camden",
        "--write", "application/7/device/+/event/up", "--purpose", "ChirpStack's integration",
        env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    password = added.stdout.strip()
    assert len(password) >= 32 and "shown this once" in added.stderr
    (stored,) = conn.execute("SELECT password_hash FROM broker_accounts").fetchone() or ()
    assert mosquitto_hash.verify(password, stored)
    listed = run_cli("broker", "accounts", "list", env=env)
    assert listed.stdout.startswith(
        "chirpstack.camden\twrite:application/7/device/+/event/up\tChirpStack's integration"
    )
    pid_file = tmp_path / "broker.pid"
    pid_file.write_text("999999999\n")  # no such process: the files are written, not read
    written = run_cli(
        "broker", "files", "--dir", str(tmp_path / "access"), "--pid-file", str(pid_file), env=env
    )
    assert written.returncode == 1 and "could not be told to read them" in written.stderr
    acl = (tmp_path / "access" / "acl").read_text()
    assert "user chirpstack.camden\ntopic write application/7/device/+/event/up\n" in acl
    assert password not in (tmp_path / "access" / "passwd").read_text()
    reloaded = run_cli(
        "broker", "files", "--dir", str(tmp_path / "more"), "--reload-command", "true", env=env
    )
    assert reloaded.returncode == 0 and reloaded.stdout == f"written: {tmp_path / 'more'}\n"
    no_group = run_cli(
        "broker", "files", "--dir", str(tmp_path / "x"), "--reload-command", "true",
        "--group", "no-such-group", env=env,
    )  # fmt: skip
    assert no_group.returncode != 0 and "there is no group 'no-such-group'" in no_group.stderr
    stray = run_cli("broker", "files", "--pid-file", str(pid_file), env=env)
    assert stray.returncode != 0 and "go with --dir" in stray.stderr
    unclear = run_cli("broker", "files", "--dir", str(tmp_path / "x"), env=env)
    assert unclear.returncode != 0 and "--pid-file or --reload-command" in unclear.stderr
    revoked = run_cli("broker", "accounts", "revoke", "chirpstack.camden", env=env)
    assert revoked.stdout == "chirpstack.camden: revoked\n"
    again = run_cli("broker", "accounts", "revoke", "chirpstack.camden", env=env)
    assert again.returncode == 1 and "no working broker account" in again.stderr


def test_lamplighters_own_accounts_cannot_be_replaced_or_ended_by_hand(
    migrated_settings: Settings, conn: Conn
) -> None:
    with pytest.raises(broker_accounts.AccountError, match="Lamplighter's own clients"):
        broker_accounts.add(conn, "lamplighter.simulate", writes=["x/y"], purpose="x", by="t")
    with pytest.raises(broker_accounts.AccountError, match="Lamplighter's own clients"):
        broker_accounts.revoke(conn, "lamplighter.ingest", "t")
    conn.commit()
    env = {"LAMPLIGHTER_DATABASE_URL": migrated_settings.database_url}
    refused = run_cli(
        "broker", "accounts", "add", "lamplighter.simulate", "--write", "x/y", "--purpose", "oops",
        env=env,
    )  # fmt: skip
    assert refused.returncode == 1 and "keeps itself; choose another name" in refused.stderr
    bare = run_cli("broker", "accounts", "add", "ttn.camden", "--purpose", "x", env=env)
    assert bare.returncode == 1 and "--read, --write" in bare.stderr
    assert conn.execute("SELECT count(*) FROM broker_accounts").fetchone() == (0,)
    unknown = run_cli("devices", "credentials", "list", "--org", "camdem", env=env)
    assert unknown.returncode == 1 and "there is no organisation 'camdem'" in unknown.stderr
    add_device(conn, "camden-aq-0001")
    conn.commit()
    nothing = run_cli("devices", "credentials", "revoke", "camden-aq-0001", env=env)
    assert nothing.returncode == 1 and "has no working MQTT credential" in nothing.stderr
