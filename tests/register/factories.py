"""Register entries for tests: valid by default, changed by keyword."""

from __future__ import annotations

import copy
from typing import Any

from register import devices, organisations
from register.audit import Actor
from register.queries import Conn

ADMIN = Actor("test administrator")


def organisation_entry(slug: str = "camden", **changes: Any) -> dict[str, Any]:
    entry = {
        "slug": slug,
        "name": f"London Borough of {slug.title()}",
        "kind": "borough",
        "contact_email": f"sensors@{slug}.gov.uk",
        "privacy_notice_url": f"https://www.{slug}.gov.uk/privacy",
        "dpo_contact": f"dpo@{slug}.gov.uk",
        "website": None,
    }
    entry.update(changes)
    return entry


def device_entry(public_id: str = "camden-aq-0001", **changes: Any) -> dict[str, Any]:
    entry = {
        "public_id": public_id,
        "organisation": "camden",
        "name": "Air quality monitor",
        "description": "Measures nitrogen dioxide and particles at the kerbside.",
        "status": "active",
        "latitude": 51.5390,
        "longitude": -0.1426,
        "place": "lamp post 42, Camden High Street",
        "technology": ["air_quality"],
        "purposes": ["health", "planning_decision_making"],
        "data_types": ["values_time"],
        "processing": ["aggregated"],
        "storage": ["stored_locally"],
        "access": ["available_to_download"],
        "legal_basis": None,
        "dpia_url": None,
        "installed_on": "2026-03-01",
        "decommissioned_on": None,
        "contact_email": None,
        "dev_eui": None,
        "ttn_device_id": None,
        "reporting_interval": None,
        "metrics": [
            {
                "key": "no2",
                "label": "Nitrogen dioxide",
                "unit": "ug/m3",
                "value_kind": "number",
                "personal": False,
                "retention": "P30D",
                "open_data": True,
            },
            {
                "key": "pm2_5",
                "label": "PM2.5",
                "unit": "ug/m3",
                "value_kind": "number",
                "personal": False,
                "retention": "P365D",
                "open_data": True,
            },
        ],
    }
    entry.update(copy.deepcopy(changes))
    return entry


def add_organisation(conn: Conn, slug: str = "camden", **changes: Any) -> None:
    organisations.create_organisation(conn, organisation_entry(slug, **changes), ADMIN)


def add_device(conn: Conn, public_id: str = "camden-aq-0001", **changes: Any) -> int:
    """Add a device (and its organisation when missing); return the device's id."""
    entry = device_entry(public_id, **changes)
    if not any(o["slug"] == entry["organisation"] for o in organisations.list_organisations(conn)):
        add_organisation(conn, entry["organisation"])
    devices.create_device(conn, entry, ADMIN)
    row = conn.execute("SELECT id FROM devices WHERE public_id = %s", (public_id,)).fetchone()
    assert row is not None
    return int(row[0])


def rows_of(conn: Conn, organisation: str) -> list[Any]:
    """Every row of the organisation's devices, each joined with its metrics' rows: to show
    that an import left them alone."""
    return conn.execute(
        "SELECT d.*, m.* FROM devices d JOIN organisations o ON o.id = d.organisation_id"
        " LEFT JOIN device_metrics m ON m.device_id = d.id WHERE o.slug = %s"
        " ORDER BY d.id, m.id",
        (organisation,),
    ).fetchall()
