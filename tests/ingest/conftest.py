"""Fixtures for ingest tests against the session's real PostgreSQL and Mosquitto.

Each test gets a migrated database of its own and topics under a prefix of its own, so that
no test can see another's messages, even those a persistent session still holds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest.publisher import Publisher
from ingest.service import Ingester
from ingest.settings import SourceSettings
from register.platform import db
from register.platform.config import Settings
from tests.conftest import PasswordBroker, wait_until
from tests.register.factories import add_device

DEV_EUI = "70B3D57ED0000001"
TTN_ID = "camden-sensors@ttn/camden-lora-0001"


def topics_for(prefix: str) -> dict[str, str]:
    return {
        "native": f"{prefix}/lamplighter/+/+/up",
        "senml": f"{prefix}/lamplighter/+/+/senml",
        "ttn": f"{prefix}/v3/+/devices/+/up",
        "chirpstack": f"{prefix}/application/+/device/+/event/up",
    }


def ingest_settings_for(settings: Settings, prefix: str, **ingest: Any) -> Settings:
    """Settings whose four sources listen under `prefix`, with quick batches and no metrics port."""
    sources = [
        SourceSettings(name=fmt, format=fmt, topics=[topic])
        for fmt, topic in topics_for(prefix).items()
    ]
    mqtt = dataclasses.replace(
        settings.mqtt, sources=sources, client_id=f"test-{prefix}", session_expiry=60
    )
    values = {
        "batch_wait": 0.05,
        "metrics_port": 0,
        "last_seen_interval": 0.2,
        "retry_max_backoff": 1.0,
        **ingest,
    }
    return dataclasses.replace(
        settings, mqtt=mqtt, ingest=dataclasses.replace(settings.ingest, **values)
    )


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def register_db(migrated_settings: Settings) -> Settings:
    """A migrated database with an air-quality monitor and a LoRaWAN sensor, both active."""
    with db.connect(migrated_settings) as conn, conn.transaction():
        add_device(conn, "camden-aq-0001")
        add_device(
            conn,
            "camden-lora-0001",
            dev_eui=DEV_EUI,
            ttn_device_id=TTN_ID,
            technology=["lorawan", "thermometer"],
            metrics=[
                {
                    "key": "temperature",
                    "label": "Air temperature",
                    "unit": "Cel",
                    "retention": "P30D",
                },
                {
                    "key": "humidity",
                    "label": "Relative humidity",
                    "unit": "%RH",
                    "retention": "P30D",
                },
            ],
        )
    return migrated_settings


@pytest.fixture
def ingest_settings(register_db: Settings, prefix: str) -> Settings:
    return ingest_settings_for(register_db, prefix)


@pytest.fixture
def ingester(ingest_settings: Settings) -> Iterator[Ingester]:
    """An ingester running in this process, subscribed and with the register loaded."""
    running = Ingester(ingest_settings)
    running.start()
    try:
        wait_until(running.cache.loaded.is_set, what="the register to load")
        wait_until(
            lambda: all(s.subscribed.is_set() for s in running.sources.values()),
            what="the subscriptions",
        )
        yield running
    finally:
        running.stop()


def publish(settings: Settings, messages: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1, as the settings say (TLS, credentials, protocol), and wait until the
    broker has acknowledged every message."""
    with Publisher(settings, f"pub-{uuid.uuid4().hex[:8]}") as publisher:
        publisher.publish(messages)
        assert publisher.wait_acked(60), "the broker did not acknowledge every message in 60 s"


@contextlib.contextmanager
def received_by(broker: PasswordBroker, topic_filter: str) -> Iterator[list[bytes]]:
    """The payloads a subscriber with the right credentials receives on `broker`."""
    received: list[bytes] = []
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{uuid.uuid4().hex[:8]}")
    client.username_pw_set(broker.username, broker.password)
    client.on_connect = lambda c, *args: c.subscribe(topic_filter, qos=1)
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_message = lambda c, u, message: received.append(message.payload)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        assert subscribed.wait(10), "no SUBACK from the password broker"
        yield received
    finally:
        client.disconnect()
        client.loop_stop()
        client._reset_sockets()


def query(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(sql, params).fetchall()


def count(settings: Settings, sql: str, *params: Any) -> int:
    return int(query(settings, sql, *params)[0][0])
