"""Fixtures for ingest tests against the session's real PostgreSQL and Mosquitto.

Each test gets a migrated database of its own and topics under a prefix of its own, so that
no test can see another's messages, even those a persistent session still holds.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from ingest.loadgen import LoadPublisher, Publication
from ingest.service import Ingester
from register import db
from register.config import Settings, SourceSettings
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
def register_db(fresh_settings: Settings) -> Settings:
    """A migrated database with an air-quality monitor and a LoRaWAN sensor, both active."""
    with db.connect(fresh_settings) as conn:
        db.upgrade(conn)
        with conn.transaction():
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
    return fresh_settings


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


def wait_until(condition: Callable[[], Any], *, timeout: float = 15.0, what: str = "") -> Any:
    """Poll until `condition()` is truthy; its value. Fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(0.05)


def publish(settings: Settings, messages: list[tuple[str, bytes]]) -> None:
    """Publish (topic, payload) pairs at QoS 1 and wait until the broker has acknowledged every
    message."""
    url = urlsplit(settings.mqtt_url)
    with LoadPublisher(
        url.hostname or "127.0.0.1", url.port or 1883, f"pub-{uuid.uuid4().hex[:8]}"
    ) as publisher:
        for start in range(0, len(messages), 1000):
            publisher.publish(Publication(*pair) for pair in messages[start : start + 1000])
        assert publisher.wait_acked(60)


def query(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(sql, params).fetchall()


def count(settings: Settings, sql: str, *params: Any) -> int:
    return int(query(settings, sql, *params)[0][0])
