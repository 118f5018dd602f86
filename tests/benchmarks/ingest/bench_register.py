"""A register for load: one organisation and N active air-quality devices, four metrics each."""

from __future__ import annotations

from typing import Any

from register import imports, organisations
from register.audit import Actor
from register.queries import Conn
from register.queries import registry as register_queries

METRICS = ("no2", "pm2_5", "pm10", "o3")
_LABELS = {
    "no2": "Nitrogen dioxide",
    "pm2_5": "Fine particles (PM2.5)",
    "pm10": "Particles (PM10)",
    "o3": "Ozone",
}


def bench_device(public_id: str, organisation: str, number: int) -> dict[str, Any]:
    """A valid register entry for an air-quality monitor declaring the four bench metrics."""
    return {
        "public_id": public_id,
        "organisation": organisation,
        "name": f"Load test monitor {number}",
        "status": "active",
        "latitude": 51.5 + (number % 100) / 1000,
        "longitude": -0.12 + (number // 100) / 1000,
        "place": f"test site {number}",
        "technology": ["air_quality"],
        "purposes": ["health"],
        "data_types": ["values_time"],
        "metrics": [
            {"key": key, "label": _LABELS[key], "unit": "ug/m3", "retention": "P30D"}
            for key in METRICS
        ],
    }


def add_bench_devices(conn: Conn, count: int, organisation: str = "bench") -> list[str]:
    """Add the organisation (if missing) and `count` devices; their public ids."""
    actor = Actor("lamplighter bench")
    with conn.transaction():
        if register_queries.get_organisation(conn, organisation) is None:
            organisations.create_organisation(
                conn,
                {
                    "slug": organisation,
                    "name": f"Load test organisation {organisation}",
                    "kind": "other",
                    "contact_email": f"{organisation}@example.org",
                },
                actor,
            )
        ids = [f"{organisation}-aq-{n:05d}" for n in range(1, count + 1)]
        entries = [
            imports.Entry(f"bench device {n}", bench_device(public_id, organisation, n))
            for n, public_id in enumerate(ids, 1)
        ]
        report = imports.import_entries(conn, entries, actor, dry_run=False)
    if report.problems:
        raise RuntimeError(f"the bench register is invalid: {report.problems[:3]}")
    return ids
