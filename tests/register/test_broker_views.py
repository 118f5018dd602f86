"""The views production brokers query (migration 0016) decide as the embedded Mosquitto's files
do: every login, publish and read of one register is decided by a real Mosquitto reading the
files, and from the views as EMQX 5 and mosquitto-go-auth document it (tests/broker_backends.py),
and the three decision tables are equal."""

from __future__ import annotations

import base64
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from register import devices
from register.credentials import broker_accounts, device_credentials, mosquitto_hash
from register.platform import db
from register.platform.config import Settings
from register.queries import Conn
from register.queries import broker_accounts as account_queries
from tests import broker_backends
from tests.broker_access import Client, CredentialBroker, refusal
from tests.broker_backends import Emqx, GoAuth
from tests.conftest import wait_until
from tests.register.factories import ADMIN, add_device

README = Path(__file__).resolve().parents[2] / "README.md"
TTN_UPLINKS = "v3/camden-sensors@ttn/devices/+/up"
Login = tuple[str | None, str | None]
Decision = tuple[str, str | None, str]  # (connect | publish | read, username, password or topic)


def make_register(conn: Conn) -> dict[str, str]:
    """Several devices, one decommissioned, one whose credential was revoked and issued again,
    one without a credential; an integration that writes, a reader that reads. Passwords by
    name (`<device>:old` is a replaced one)."""
    for public_id in ("camden-aq-0001", "camden-aq-0002", "camden-aq-0003", "camden-aq-0004"):
        add_device(conn, public_id)
    add_device(conn, "camden-aq-0005")  # never issued a credential
    add_device(conn, "hackney-aq-0001", organisation="hackney")
    passwords = {
        public_id: device_credentials.issue(conn, public_id, ADMIN).password
        for public_id in ("camden-aq-0001", "camden-aq-0002", "camden-aq-0003", "hackney-aq-0001")
    }
    passwords["camden-aq-0004:old"] = device_credentials.issue(
        conn, "camden-aq-0004", ADMIN
    ).password
    assert device_credentials.revoke(conn, "camden-aq-0004", ADMIN)
    passwords["camden-aq-0004"] = device_credentials.issue(conn, "camden-aq-0004", ADMIN).password
    devices.decommission_device(conn, "camden-aq-0003", ADMIN)
    # Decommissioning revoked it; a working row of a decommissioned device must still not count.
    conn.execute(
        "UPDATE device_credentials SET revoked_at = NULL, revoked_by = NULL"
        " WHERE id = (SELECT max(c.id) FROM device_credentials c JOIN devices d"
        " ON d.id = c.device_id WHERE d.public_id = 'camden-aq-0003')"
    )
    passwords["ttn.camden"] = broker_accounts.add(
        conn, "ttn.camden", writes=[TTN_UPLINKS], purpose="TTN's uplinks", by="tests"
    ).password
    passwords["reader.camden"] = broker_accounts.add(
        conn,
        "reader.camden",
        reads=["v3/camden-sensors@ttn/#", "lamplighter/camden/+/up"],
        purpose="a dashboard of Camden's readings",
        by="tests",
    ).password
    return passwords


def logins(passwords: dict[str, str], observer_password: str) -> list[Login]:
    """Every login tried: right, wrong, replaced, missing passwords; unknown users."""
    right = [(name, password) for name, password in passwords.items() if not name.endswith(":old")]
    return [
        *right,
        ("observer.test", observer_password),
        ("camden-aq-0001", passwords["camden-aq-0001"] + "x"),
        ("camden-aq-0001", passwords["camden-aq-0002"]),
        ("camden-aq-0001", None),
        ("camden-aq-0004", passwords["camden-aq-0004:old"]),
        ("camden-aq-0005", passwords["camden-aq-0001"]),
        ("camden-aq-9999", passwords["camden-aq-0001"]),
        ("ttn.camden", passwords["reader.camden"]),
        ("nobody.camden", passwords["ttn.camden"]),
        (None, None),
    ]


# (who publishes, topic): devices on their own and others' topics, the integration in and out
# of its filter, the reader, which may only read.
PUBLISHES = [
    ("camden-aq-0001", "lamplighter/camden/camden-aq-0001/up"),
    ("camden-aq-0001", "lamplighter/camden/camden-aq-0001/senml"),
    ("camden-aq-0001", "lamplighter/camden/camden-aq-0001/down"),
    ("camden-aq-0001", "lamplighter/hackney/camden-aq-0001/up"),
    ("camden-aq-0001", "lamplighter/camden/camden-aq-0002/up"),
    ("camden-aq-0001", "lamplighter/camden/camden-aq-0002/senml"),
    ("camden-aq-0001", "v3/camden-sensors@ttn/devices/lora-1/up"),
    ("camden-aq-0004", "lamplighter/camden/camden-aq-0004/senml"),
    ("hackney-aq-0001", "lamplighter/hackney/hackney-aq-0001/up"),
    ("hackney-aq-0001", "lamplighter/camden/camden-aq-0001/up"),
    ("ttn.camden", "v3/camden-sensors@ttn/devices/lora-1/up"),
    ("ttn.camden", "v3/camden-sensors@ttn/devices/lora-1/down"),
    ("ttn.camden", "v3/hackney-sensors@ttn/devices/lora-1/up"),
    ("ttn.camden", "lamplighter/camden/ttn/up"),
    # Mosquitto's pattern lines hold for every login: an account may write the device topics
    # of its own name (no device has such a name, so the ingester refuses what comes there).
    ("ttn.camden", "lamplighter/camden/ttn.camden/up"),
    ("reader.camden", "v3/camden-sensors@ttn/devices/lora-1/up"),
    ("reader.camden", "lamplighter/camden/reader/up"),
]
# Messages that may be written, each read (or not) by every reader below.
MESSAGES = [
    ("ttn.camden", "v3/camden-sensors@ttn/devices/lora-2/up"),
    ("camden-aq-0002", "lamplighter/camden/camden-aq-0002/up"),
    ("camden-aq-0002", "lamplighter/camden/camden-aq-0002/senml"),
    ("hackney-aq-0001", "lamplighter/hackney/hackney-aq-0001/up"),
    ("hackney-aq-0001", "lamplighter/hackney/hackney-aq-0001/senml"),
]
READERS = ["reader.camden", "observer.test", "ttn.camden", "camden-aq-0001"]
# Last, one message each reader with any read access is sure to get: all before it came too.
FLUSHES = [
    ("ttn.camden", "v3/camden-sensors@ttn/devices/flush/up", "reader.camden"),
    ("hackney-aq-0001", "lamplighter/flush/hackney-aq-0001/up", "observer.test"),
]


def on_mosquitto(broker: CredentialBroker, tried: list[Login]) -> dict[Decision, bool]:
    """Every decision, as the real Mosquitto reading the register's files takes it."""
    port = broker.port
    decisions: dict[Decision, bool] = {
        ("connect", user, password): refusal(port, user, password) is None
        for user, password in tried
    }
    password_of = {
        user: password for user, password in tried if decisions["connect", user, password]
    }
    clients: dict[str, Client] = {}
    readers: dict[str, Client] = {}
    try:
        for user in {who for who, _ in PUBLISHES + MESSAGES}:
            clients[user] = Client(port, user, password_of[user])
        for user, topic in PUBLISHES:
            decisions["publish", user, topic] = clients[user].publish(topic, b"1") == "Success"
        # Mosquitto 2.0 grants every SUBSCRIBE and then sends only what the ACL lets a client
        # read: a read is seen by delivery.
        for user in READERS:
            readers[user] = Client(port, user, password_of[user])
            readers[user].subscribe("#")
        for user, topic in MESSAGES:
            assert clients[user].publish(topic, topic.encode()) == "Success", (user, topic)
        for user, topic, reader in FLUSHES:
            assert clients[user].publish(topic, b"flush") == "Success"
            wait_until(
                lambda r=reader, t=topic: (t, b"flush") in readers[r].received, what="a flush"
            )
        time.sleep(0.3)  # for the readers that may read nothing, and so have no flush
        for user in READERS:
            received = {topic for topic, payload in readers[user].received if payload != b"flush"}
            for _, topic in MESSAGES:
                decisions["read", user, topic] = topic in received
    finally:
        for client in (*clients.values(), *readers.values()):
            client.close()
    return decisions


def from_views(
    backend: Emqx | GoAuth, tried: list[Login], publish: Callable[[str, str], bool]
) -> dict[Decision, bool]:
    """Every decision, as a broker's backend takes it from the views."""
    decisions: dict[Decision, bool] = {
        ("connect", user, password): backend.connects(user, password) for user, password in tried
    }
    for user, topic in PUBLISHES:
        decisions["publish", user, topic] = publish(user, topic)
    for user in READERS:
        for _, topic in MESSAGES:
            decisions["read", user, topic] = backend.reads(user, topic)
    return decisions


def test_the_views_decide_every_login_publish_and_read_as_the_files_do(
    migrated_settings: Settings, credential_broker: CredentialBroker
) -> None:
    with db.connect(migrated_settings) as conn, conn.transaction():
        passwords = make_register(conn)
    credential_broker.write_files()
    tried = logins(passwords, credential_broker.observer_password)

    mosquitto = on_mosquitto(credential_broker, tried)
    with db.connect(migrated_settings) as conn:
        emqx, go_auth = Emqx(conn), GoAuth(conn)
        by_emqx = from_views(emqx, tried, lambda u, t: emqx.allows(u, "publish", t))
        by_go_auth = from_views(go_auth, tried, lambda u, t: go_auth.allows(u, "write", t))

    def differences(other: dict[Decision, bool]) -> dict[Decision, tuple[bool, bool]]:
        return {k: (v, other[k]) for k, v in mosquitto.items() if other[k] != v}

    assert differences(by_emqx) == {}
    assert differences(by_go_auth) == {}
    assert by_emqx.keys() == by_go_auth.keys() == mosquitto.keys()
    # Not a table of one answer: these are the rules the files carry.
    for decision, expected in {
        ("connect", "camden-aq-0004", passwords["camden-aq-0004"]): True,
        ("connect", "camden-aq-0004", passwords["camden-aq-0004:old"]): False,
        ("connect", "camden-aq-0003", passwords["camden-aq-0003"]): False,
        ("connect", "camden-aq-0001", passwords["camden-aq-0001"] + "x"): False,
        ("connect", "nobody.camden", passwords["ttn.camden"]): False,
        ("publish", "camden-aq-0001", "lamplighter/camden/camden-aq-0001/senml"): True,
        ("publish", "camden-aq-0001", "lamplighter/camden/camden-aq-0002/up"): False,
        ("publish", "ttn.camden", "v3/camden-sensors@ttn/devices/lora-1/up"): True,
        ("publish", "ttn.camden", "v3/hackney-sensors@ttn/devices/lora-1/up"): False,
        ("read", "reader.camden", "lamplighter/camden/camden-aq-0002/up"): True,
        ("read", "reader.camden", "lamplighter/camden/camden-aq-0002/senml"): False,
        ("read", "camden-aq-0001", "lamplighter/camden/camden-aq-0002/up"): False,
    }.items():
        assert mosquitto[decision] is expected, decision
    assert sum(mosquitto.values()) >= 15 and sum(not v for v in mosquitto.values()) >= 15


def test_the_readme_configures_the_brokers_with_the_queries_tested_here() -> None:
    readme = README.read_text(encoding="utf-8")
    for query in (
        broker_backends.EMQX_AUTHENTICATION_QUERY,
        broker_backends.EMQX_AUTHORIZATION_QUERY,
        broker_backends.GO_AUTH_USER_QUERY,
        broker_backends.GO_AUTH_ACL_QUERY,
    ):
        assert query in readme, query
    assert re.search(r"mac_fun = sha512, iterations = 101, dk_length = 64", readme)
    assert "no_match = deny" in readme


def test_the_brokers_role_may_read_the_views_and_nothing_else(conn: Conn) -> None:
    role = broker_backends.BROKER_ROLE
    can_login = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (role,))
    assert can_login.fetchone() == (False,)
    conn.execute(f"SET ROLE {role}")
    for view in ("emqx_authentication", "emqx_authorization", "go_auth_users", "go_auth_acl"):
        assert conn.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)
    conn.rollback()
    for table in ("device_credentials", "broker_accounts", "broker_logins", "devices"):
        conn.execute(f"SET ROLE {role}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SELECT 1 FROM {table}")
        conn.rollback()


def test_one_hash_serves_mosquitto_emqx_and_go_auth_and_mosquitto_passwds_still_verify(
    conn: Conn, tmp_path: Path
) -> None:
    # mosquitto_passwd's own hash (12 random bytes of salt) is still checked as before.
    passwords = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), "someone", "a long password"],
        check=True,
        capture_output=True,
    )
    theirs = passwords.read_text().strip().split(":", 1)[1]
    assert mosquitto_hash.verify("a long password", theirs)
    assert not mosquitto_hash.verify("a long passwore", theirs)
    # Ours draws its 12 salt bytes from the base64url alphabet, so EMQX can take it as text.
    ours = mosquitto_hash.hash_password("a long password")
    salt = base64.b64decode(ours.split("$")[3])
    assert len(salt) == 12 and set(salt.decode()) <= set(mosquitto_hash.SALT_ALPHABET)
    assert mosquitto_hash.verify("a long password", ours)
    # A hash with binary salt bytes (mosquitto_passwd's, or one issued before) serves
    # mosquitto-go-auth, but not EMQX, which would read its salt as text: issue it again.
    legacy = mosquitto_hash.hash_password("legacy secret", salt=bytes(range(200, 212)))
    with conn.transaction():
        for username, password_hash in (("new.camden", ours), ("legacy.camden", legacy)):
            account_queries.insert_account(
                conn,
                username,
                password_hash,
                reads=["v3/#"],
                writes=[],
                purpose="x",
                created_by="tests",
            )
    emqx, go_auth = Emqx(conn), GoAuth(conn)
    assert emqx.connects("new.camden", "a long password")
    assert go_auth.connects("new.camden", "a long password")
    assert go_auth.connects("legacy.camden", "legacy secret")
    assert not emqx.connects("legacy.camden", "legacy secret")
    assert not go_auth.connects("legacy.camden", "legacy secrex")
