"""The demo register: about 2,000 valid devices across the 18 organisations, seeded once."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from register import devices, validation
from register.demo.london import BOROUGHS
from register.demo.seed import SILENT
from register.platform import db
from register.platform.config import Settings
from register.schemas import DeviceSchema
from tests.conftest import database_of_its_own, run_cli

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class SeededDemo:
    settings: Settings
    first_run: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def demo(settings: Settings, migrated_template: str) -> Iterator[SeededDemo]:
    """A migrated database of this module's own that one run of `lamplighter demo` seeded, and
    that run's result. Seeding takes seconds, so the module's tests share it; they only read."""
    with database_of_its_own(settings, migrated_template) as seeded:
        first_run = run_cli("demo", env={"LAMPLIGHTER_DATABASE_URL": seeded.database_url})
        yield SeededDemo(seeded, first_run)


@pytest.fixture
def demo_conn(demo: SeededDemo) -> Iterator[Conn]:
    """A connection to the seeded demo database, closed after the test."""
    assert demo.first_run.returncode == 0, demo.first_run.stderr
    with db.connect(demo.settings) as conn:
        yield conn


def test_demo_seeds_an_empty_register_once(demo: SeededDemo, demo_conn: Conn) -> None:
    env = {"LAMPLIGHTER_DATABASE_URL": demo.settings.database_url}
    first = demo.first_run
    assert first.returncode == 0, first.stderr
    assert "18 organisations" in first.stdout
    orgs = demo_conn.execute(
        "SELECT kind, count(*) FROM organisations GROUP BY kind ORDER BY 1"
    ).fetchall()
    assert orgs == [("borough", 16), ("regional_authority", 1), ("transport_authority", 1)]
    total = demo_conn.execute("SELECT count(*) FROM devices").fetchone()
    assert total is not None and 1900 <= total[0] <= 2100
    # Every organisation has devices of its own.
    per_org = dict(
        demo_conn.execute(
            "SELECT o.slug, count(d.id) FROM organisations o LEFT JOIN devices d"
            " ON d.organisation_id = o.id GROUP BY o.slug"
        ).fetchall()
    )
    assert min(per_org.values()) >= 90
    second = run_cli("demo", env=env)
    assert second.returncode == 0 and "not empty" in second.stdout
    again = demo_conn.execute("SELECT count(*) FROM devices").fetchone()
    assert again == total


def test_every_demo_device_passes_the_schema_and_is_realistic(demo_conn: Conn) -> None:
    entries = devices.list_devices(demo_conn)
    schema = DeviceSchema()
    for entry in entries:
        validation.load(schema, entry)  # raises on any invalid entry
    technologies = {t for e in entries for t in e["technology"]}
    assert {
        "air_quality",
        "sound_level_meter",
        "passive_infrared_sensor",
        "lighting_controller",
        "video_camera",
        "magnetometer",
        "ultrasonic_level_sensor",
        "lorawan",
    } <= technologies
    personal = [e for e in entries if any(m["personal"] for m in e["metrics"])]
    assert personal, "some lamp posts have cameras that process personal data"
    assert all(e["legal_basis"] and e["dpia_url"] for e in personal)
    lorawan = [e for e in entries if "lorawan" in e["technology"]]
    assert lorawan and all(e["dev_eui"] for e in lorawan)
    units = {m["key"]: m["unit"] for e in entries for m in e["metrics"]}
    assert units["no2"] == units["pm2_5"] == units["pm10"] == "ug/m3"
    statuses = {e["status"] for e in entries}
    assert statuses == {"planned", "active", "suspended", "decommissioned"}
    # Each borough's devices lie within a few kilometres of its centre.
    for borough in BOROUGHS:
        own = [e for e in entries if e["organisation"] == borough.slug]
        assert all(abs(e["latitude"] - borough.latitude) < 0.05 for e in own)
        assert all(abs(e["longitude"] - borough.longitude) < 0.08 for e in own)


def test_most_demo_devices_declare_short_intervals_and_the_silent_ones_can_be_marked(
    demo_conn: Conn,
) -> None:
    entries = {e["public_id"]: e for e in devices.list_devices(demo_conn)}
    intervals = Counter(e["reporting_interval"] for e in entries.values())
    # Short enough for the live demo to show readings arriving, and some devices without one.
    assert set(intervals) == {"PT1M", "PT2M", "PT5M", None}
    assert intervals[None] > 0 and sum(intervals.values()) - intervals[None] > 1000
    by_kind = {e["reporting_interval"] for e in entries.values() if "-aq-" in e["public_id"]}
    assert by_kind == {"PT1M"}
    # The devices left silent on purpose are active and declare an interval, so they are marked.
    for public_id in SILENT:
        assert entries[public_id]["status"] == "active", public_id
        assert entries[public_id]["reporting_interval"] is not None, public_id
