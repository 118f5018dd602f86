"""The demo register: about 2,000 valid devices across the 18 organisations, seeded once."""

from __future__ import annotations

from typing import Any

import psycopg

from register import devices, validation
from register.audit import Actor
from register.demo import seed
from register.demo.london import BOROUGHS
from register.platform.config import Settings
from register.schemas import DeviceSchema
from tests.conftest import run_cli

Conn = psycopg.Connection[Any]


def test_demo_seeds_an_empty_register_once(conn: Conn, fresh_settings: Settings) -> None:
    conn.commit()
    env = {"LAMPLIGHTER_DATABASE_URL": fresh_settings.database_url}
    first = run_cli("demo", env=env)
    assert first.returncode == 0, first.stderr
    assert "18 organisations" in first.stdout
    orgs = conn.execute(
        "SELECT kind, count(*) FROM organisations GROUP BY kind ORDER BY 1"
    ).fetchall()
    assert orgs == [("borough", 16), ("regional_authority", 1), ("transport_authority", 1)]
    total = conn.execute("SELECT count(*) FROM devices").fetchone()
    assert total is not None and 1900 <= total[0] <= 2100
    # Every organisation has devices of its own.
    per_org = dict(
        conn.execute(
            "SELECT o.slug, count(d.id) FROM organisations o LEFT JOIN devices d"
            " ON d.organisation_id = o.id GROUP BY o.slug"
        ).fetchall()
    )
    assert min(per_org.values()) >= 90
    second = run_cli("demo", env=env)
    assert second.returncode == 0 and "not empty" in second.stdout
    again = conn.execute("SELECT count(*) FROM devices").fetchone()
    assert again == total


def test_every_demo_device_passes_the_schema_and_is_realistic(conn: Conn) -> None:
    seed.seed(conn, Actor("demo data"))
    entries = devices.list_devices(conn)
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
