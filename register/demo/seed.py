"""A realistic demo register: 18 London organisations and about 2,000 devices.

Every device is built as an ordinary register entry and goes through the same validation and
audited import as a real file, so the demo shows exactly what the register accepts.
The result is the same on every run (a fixed random seed).

Most kinds declare how often they report (`reporting_interval`), lamp posts do not. The intervals
are shorter than most real sensors' (an air-quality monitor often reports every 15 minutes) so
that the live demo shows readings arriving within a minute, and a device that stops within a few.
`lamplighter up`'s simulator publishes for every active device at its interval, except the
`SILENT` ones, so that "not reporting" has something to show a few minutes after `make run`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from register import imports, organisations
from register.audit import Actor
from register.demo.london import BOROUGHS, CITY_BODIES, Borough
from register.queries import Conn
from register.queries import audit as audit_queries
from register.queries import registry as queries

SEED = 2026
Entry = dict[str, Any]


def metric(
    key: str,
    label: str,
    unit: str,
    retention: str,
    *,
    open_data: bool = True,
    personal: bool = False,
    kind: str = "number",
) -> Entry:
    return {
        "key": key,
        "label": label,
        "unit": unit,
        "value_kind": kind,
        "personal": personal,
        "retention": retention,
        "open_data": open_data,
    }


def air_quality(rng: random.Random) -> Entry:
    return {
        "name": "Air quality monitor",
        "description": "Measures nitrogen dioxide and fine particles in the air at street level.",
        "technology": ["air_quality"],
        "purposes": ["health", "planning_decision_making"],
        "data_types": ["values_time"],
        "processing": ["aggregated"],
        "storage": ["stored_locally"],
        "access": ["available_to_download"],
        "metrics": [
            metric("no2", "Nitrogen dioxide (NO2)", "ug/m3", "P1825D"),
            metric("pm2_5", "Fine particles (PM2.5)", "ug/m3", "P1825D"),
            metric("pm10", "Particles (PM10)", "ug/m3", "P1825D"),
        ],
        "reporting_interval": "PT1M",
        "place_kind": "lamp post",
    }


def noise(rng: random.Random) -> Entry:
    return {
        "name": "Noise meter",
        "description": "Measures how loud the street is, once a minute. It records sound levels "
        "only, never audio.",
        "technology": ["sound_level_meter"],
        "purposes": ["health", "planning_decision_making"],
        "data_types": ["values_time"],
        "processing": ["aggregated"],
        "storage": ["stored_locally"],
        "access": ["available_to_download"],
        "metrics": [
            metric("laeq", "Average sound level (LAeq, 1 minute)", "dB", "P365D"),
            metric("lamax", "Loudest sound (LAmax, 1 minute)", "dB", "P365D"),
        ],
        "reporting_interval": "PT1M",
        "place_kind": "lamp post",
    }


def footfall(rng: random.Random) -> Entry:
    return {
        "name": "Footfall counter",
        "description": "Counts people walking past in each direction. It keeps counts only; "
        "no images are kept and nobody is identified.",
        "technology": ["passive_infrared_sensor"],
        "purposes": ["planning_decision_making", "commerce"],
        "data_types": ["values_time"],
        "processing": ["aggregated", "de_identified"],
        "storage": ["stored_on_3rd_party_cloud"],
        "access": ["available_to_download"],
        "metrics": [
            metric("people_in", "People walking in", "count", "P730D"),
            metric("people_out", "People walking out", "count", "P730D"),
        ],
        "reporting_interval": "PT5M",
        "place_kind": "shop front",
    }


def lamp_post(rng: random.Random) -> Entry:
    entry: Entry = {
        "name": "Smart lamp post",
        "description": "A street light that dims late at night and reports its energy use.",
        "technology": ["lighting_controller"],
        "purposes": ["street_lighting", "energy_efficiency"],
        "data_types": ["values_time"],
        "processing": ["raw_data"],
        "storage": ["stored_locally"],
        "access": ["available_to_the_accountable_organization"],
        "metrics": [
            metric("light_level", "Light output", "%", "P90D", open_data=False),
            metric("energy", "Energy used", "Wh", "P365D"),
        ],
        "place_kind": "lamp post",
    }
    if rng.random() < 0.15:
        entry.update(
            {
                "name": "Smart lamp post with camera",
                "description": "A street light with a camera. Software on the camera counts people "
                "and vehicles; video is saved only when an incident is reported, and is deleted "
                "after 31 days.",
                "technology": ["lighting_controller", "video_camera"],
                "purposes": ["street_lighting", "safety_security", "mobility"],
                "data_types": ["personal", "pixel_based_image", "values_time"],
                "processing": ["computer_vision", "encrypted_at_rest"],
                "access": ["available_to_the_accountable_organization"],
                "legal_basis": "public_task",
            }
        )
        entry["metrics"] = [
            *entry["metrics"],
            metric("people_count", "People passing", "count", "P365D"),
            metric("vehicle_count", "Vehicles passing", "count", "P365D"),
            metric(
                "incident_clip",
                "Video clip saved for a reported incident",
                "",
                "P31D",
                open_data=False,
                personal=True,
                kind="boolean",
            ),
        ]
    return entry


def parking(rng: random.Random) -> Entry:
    return {
        "name": "Parking bay sensor",
        "description": "A sensor in the road surface that tells whether a car is parked in "
        "the bay.",
        "technology": ["magnetometer", "lorawan"],
        "purposes": ["mobility"],
        "data_types": ["boolean", "values_time"],
        "processing": ["raw_data"],
        "storage": ["stored_on_3rd_party_cloud"],
        "access": ["available_to_download"],
        "metrics": [metric("occupied", "Bay occupied", "", "P7D", kind="boolean")],
        "reporting_interval": "PT2M",
        "place_kind": "parking bay",
        "lorawan": True,
    }


def bin_fill(rng: random.Random) -> Entry:
    return {
        "name": "Litter bin fill sensor",
        "description": "Measures how full a litter bin is, so crews empty it before it overflows.",
        "technology": ["ultrasonic_level_sensor", "lorawan"],
        "purposes": ["waste_management"],
        "data_types": ["values_time"],
        "processing": ["raw_data"],
        "storage": ["stored_on_3rd_party_cloud"],
        "access": ["available_to_the_accountable_organization"],
        "metrics": [
            metric("fill_level", "How full the bin is", "%", "P90D"),
            metric("battery", "Battery voltage", "V", "P30D", open_data=False),
        ],
        "reporting_interval": "PT5M",
        "place_kind": "litter bin",
        "lorawan": True,
    }


Kind = Callable[[random.Random], Entry]
# Devices per borough: (code for the public id, template, how many).
BOROUGH_MIX: tuple[tuple[str, Kind, int], ...] = (
    ("aq", air_quality, 15),
    ("noise", noise, 10),
    ("ff", footfall, 15),
    ("lp", lamp_post, 40),
    ("park", parking, 20),
    ("bin", bin_fill, 10),
)
# Active devices with an interval that the demo's simulator leaves silent on purpose: marked not
# reporting after `jobs.silence_factor` of their intervals (3 to 6 minutes with the defaults).
SILENT = ("camden-aq-0003", "hackney-noise-0002", "hackney-park-0003")
GLA_AIR_QUALITY_PER_BOROUGH = 8
TFL_FOOTFALL_PER_BOROUGH = 6


def organisation_entries() -> list[Entry]:
    bodies = [(b.slug, b.name, "borough", b.domain) for b in BOROUGHS] + list(CITY_BODIES)
    return [
        {
            "slug": slug,
            "name": name,
            "kind": kind,
            "contact_email": f"smartcity@{domain}",
            "privacy_notice_url": f"https://www.{domain}/privacy/sensors",
            "dpo_contact": f"dpo@{domain}",
            "website": f"https://www.{domain}",
        }
        for slug, name, kind, domain in bodies
    ]


def _point_in(borough: Borough, rng: random.Random) -> tuple[float, float]:
    radius_km = 0.6 * math.sqrt(borough.area_km2 / math.pi)
    distance = radius_km * math.sqrt(rng.random())  # uniform over the disc
    bearing = rng.uniform(0, 2 * math.pi)
    north, east = distance * math.cos(bearing), distance * math.sin(bearing)
    latitude = borough.latitude + north / 111.32
    longitude = borough.longitude + east / (111.32 * math.cos(math.radians(borough.latitude)))
    return round(latitude, 6), round(longitude, 6)


def _status(rng: random.Random, installed: date) -> tuple[str, str | None]:
    roll = rng.random()
    if roll < 0.03:
        return "planned", None
    if roll < 0.05:
        return "suspended", None
    if roll < 0.07:
        ended = min(date(2026, 10, 31), installed + timedelta(days=rng.randint(200, 1500)))
        return "decommissioned", ended.isoformat()
    return "active", None


def device(
    owner: str,
    domain: str,
    public_id: str,
    template: Entry,
    *,
    borough: Borough,
    rng: random.Random,
) -> Entry:
    latitude, longitude = _point_in(borough, rng)
    installed = date(2019, 1, 1) + timedelta(days=rng.randint(0, 2800))
    status, ended = _status(rng, installed)
    place_kind = template.pop("place_kind")
    lorawan = template.pop("lorawan", False)
    entry: Entry = {
        "public_id": public_id,
        "organisation": owner,
        "status": status,
        "latitude": latitude,
        "longitude": longitude,
        "place": f"{place_kind} {rng.randint(1, 240)}, {rng.choice(borough.streets)}",
        "installed_on": installed.isoformat(),
        "decommissioned_on": ended,
        "contact_email": None,
        "legal_basis": None,
        "dpia_url": None,
        "dev_eui": None,
        "ttn_device_id": None,
        "reporting_interval": None,
        **template,
    }
    if entry["legal_basis"]:
        entry["dpia_url"] = f"https://www.{domain}/dpia/{public_id}"
    if lorawan:
        entry["dev_eui"] = f"70B3D57E{rng.getrandbits(32):08X}"
        entry["ttn_device_id"] = f"{owner}-sensors@ttn/{public_id}"
    return entry


def device_entries() -> list[Entry]:
    """Every demo device entry, in a fixed order."""
    rng = random.Random(SEED)  # noqa: S311 - repeatable demo data, not secrets
    entries = []
    for borough in BOROUGHS:
        for code, kind, count in BOROUGH_MIX:
            for n in range(1, count + 1):
                public_id = f"{borough.slug}-{code}-{n:04d}"
                entries.append(
                    device(
                        borough.slug, borough.domain, public_id, kind(rng), borough=borough, rng=rng
                    )
                )
    for slug, _, _, domain in CITY_BODIES:
        kind, per_borough, code = (
            (air_quality, GLA_AIR_QUALITY_PER_BOROUGH, "aq")
            if slug == "gla"
            else (footfall, TFL_FOOTFALL_PER_BOROUGH, "ff")
        )
        n = 0
        for borough in BOROUGHS:
            for _ in range(per_borough):
                n += 1
                entries.append(
                    device(
                        slug, domain, f"{slug}-{code}-{n:04d}", kind(rng), borough=borough, rng=rng
                    )
                )
    return entries


def seed(conn: Conn, actor: Actor) -> imports.ImportReport:
    """Add the demo organisations and devices to an empty register, in one transaction."""
    with conn.transaction():
        for entry in organisation_entries():
            organisations.create_organisation(conn, entry, actor)
        entries = [
            imports.Entry(f"demo device {n}", raw) for n, raw in enumerate(device_entries(), 1)
        ]
        report = imports.import_entries(conn, entries, actor, dry_run=False)
        if not report.ok:
            raise ValueError("demo data failed validation: " + "; ".join(report.problems[:5]))
    return report


# Who the demo's entries are made by, in the register's history.
DEMO_ACTOR = "demo data"


def is_demo_register(conn: Conn) -> bool:
    """Whether the demo seeded this register (its history names the demo as an author)."""
    return audit_queries.has_events_by(conn, DEMO_ACTOR)


def register_is_empty(conn: Conn) -> bool:
    return queries.count_devices(conn) == 0 and not queries.list_organisations(conn)
