"""Device credentials end to end: a device publishes through a real Mosquitto that reads the
files Lamplighter writes, and a real ingester stores what it may send, as itself only. No
credential is kept in clear in the database, the broker's files or any log."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import uuid

import pytest

from ingest.service import Ingester
from ingest.settings import SourceSettings
from register.credentials import broker_accounts, device_credentials, writer
from register.platform import db
from register.platform.config import Settings
from tests.broker_access import (
    Client,
    CredentialBroker,
    refusal,
)
from tests.conftest import wait_until
from tests.ingest.conftest import query
from tests.register.factories import ADMIN, add_device

OWN_TOPIC = "lamplighter/camden/camden-aq-0001/up"
OTHER_TOPIC = "lamplighter/camden/camden-aq-0002/up"


def reading(value: float, seconds_ago: int) -> bytes:
    """A native message of one NO2 reading; each of a test's at a time of its own."""
    moment = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(time.time()) - seconds_ago))
    return json.dumps({"time": moment, "readings": {"no2": value}}).encode()


def stored(settings: Settings) -> list[tuple[str, float]]:
    rows = query(
        settings,
        "SELECT d.public_id, r.value FROM readings r JOIN devices d ON d.id = r.device_id"
        " ORDER BY r.value",
    )
    return [(public_id, value) for public_id, value in rows]


def everything_in_the_database(settings: Settings) -> str:
    """Every row of every table of the register's schema, as text."""
    tables = query(
        settings,
        "SELECT quote_ident(table_name) FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    assert len(tables) > 10
    return "\n".join(str(query(settings, f"SELECT t::text FROM {table} t")) for (table,) in tables)


def test_a_device_is_stored_as_itself_refused_as_another_and_no_secret_is_kept_in_clear(
    migrated_settings: Settings,
    credential_broker: CredentialBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # The writer follows the register, as `lamplighter broker files --follow` does, so that its
    # log is among those checked.
    stopping = threading.Event()
    follower = threading.Thread(
        target=writer.follow, args=(migrated_settings, credential_broker.target, stopping)
    )
    follower.start()
    with db.connect(migrated_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        add_device(conn, "camden-aq-0002")
        issued = device_credentials.issue(conn, "camden-aq-0001", ADMIN)
        other = device_credentials.issue(conn, "camden-aq-0002", ADMIN)
        ingester_account = broker_accounts.add(
            conn,
            "ingest.test",
            reads=["lamplighter/+/+/up"],
            purpose="the ingester under test",
            by="tests",
        )
    wait_until(
        lambda: refusal(credential_broker.port, "camden-aq-0001", issued.password) is None,
        timeout=5,
        what="the writer to bring the credentials to the broker",
    )
    mqtt = dataclasses.replace(
        migrated_settings.mqtt,
        url=f"mqtt://127.0.0.1:{credential_broker.port}",
        username="ingest.test",
        password=ingester_account.password,
        sources=[SourceSettings(name="native", format="native")],
        client_id=f"test-{uuid.uuid4().hex[:8]}",
        session_expiry=60,
    )
    ingest = dataclasses.replace(
        migrated_settings.ingest, batch_wait=0.05, metrics_port=0, last_seen_interval=0.2
    )
    settings = dataclasses.replace(migrated_settings, mqtt=mqtt, ingest=ingest)
    ingester = Ingester(settings)
    ingester.start()
    device = None
    try:
        wait_until(ingester.cache.loaded.is_set, what="the register to load")
        wait_until(lambda: all(s.subscribed.is_set() for s in ingester.sources.values()))
        device = Client(credential_broker.port, "camden-aq-0001", issued.password)
        assert device.connected.is_set(), device.refused
        assert device.publish(OWN_TOPIC, reading(21.5, 3)) == "Success"
        wait_until(lambda: stored(settings), what="the device's reading")
        assert device.publish(OTHER_TOPIC, reading(99.0, 2)) == "Not authorized"
        # A later message of its own is stored: the one before it was never delivered.
        assert device.publish(OWN_TOPIC, reading(22.5, 1)) == "Success"
        wait_until(lambda: len(stored(settings)) == 2, what="the device's second reading")
        assert stored(settings) == [("camden-aq-0001", 21.5), ("camden-aq-0001", 22.5)]
        assert query(settings, "SELECT count(*) FROM quarantine") == [(0,)]
        assert refusal(credential_broker.port, "camden-aq-0001", other.password) == (
            "Not authorized"
        )
    finally:
        if device is not None:
            device.close()
        ingester.stop()
        stopping.set()
        follower.join(10)

    secrets = {
        "device": issued.password,
        "another device": other.password,
        "ingester": ingester_account.password,
        "observer": credential_broker.observer_password,
    }
    places = {
        "database": everything_in_the_database(settings),
        "files": "".join(
            path.read_text()
            for path in credential_broker.layout.directory.rglob("*")
            if path.is_file()
        ),
        "broker log": credential_broker.log.read_text(errors="replace"),
        "our logs": caplog.text,
    }
    assert "camden-aq-0001:$7$101$" in places["files"]  # the places are the right ones
    assert "camden-aq-0001" in places["broker log"]
    assert "broker files written and reloaded" in places["our logs"]
    for place, text in places.items():
        for whose, secret in secrets.items():
            assert secret not in text, f"the {whose} password is in the {place}"
