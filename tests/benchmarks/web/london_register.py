"""A large register for the web benchmark: N devices over Greater London, loaded by COPY.

The devices are the demo register's kinds (air quality, noise, footfall, smart lamp posts, some
with cameras and personal data, parking and bin sensors) in the demo's proportions, owned by
the 16 LOTI boroughs, the GLA and TfL, placed inside the boroughs, with the demo's spread of
statuses. Each has its history (created; for some a retention changed; for the decommissioned,
their decommissioning), and a few hundred active devices have a day of readings, so device
pages show compliance figures from the hypertable. The same N gives the same register (a fixed
random seed), but for the times of the readings.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson

from register import audit, devices, organisations, periods
from register.audit import Actor
from register.demo import seed as demo
from register.demo.london import BOROUGHS, CITY_BODIES, Borough
from register.queries import Conn
from register.queries import registry as register_queries
from register.queries.registry import DEVICE_FIELDS, METRIC_FIELDS
from tests.benchmarks.web import queries

SEED = 2026
ACTOR = Actor("lamplighter bench")
# Of every 124 demo devices in a borough, 110 are the borough's, 8 the GLA's and 6 TfL's.
OWNER_WEIGHTS = {"borough": 110, "gla": demo.GLA_AIR_QUALITY_PER_BOROUGH,
                 "tfl": demo.TFL_FOOTFALL_PER_BOROUGH}  # fmt: skip
CITY_KINDS = {"gla": ("aq", demo.air_quality), "tfl": ("ff", demo.footfall)}
UPDATED_SHARE = 0.05
WITH_READINGS_SHARE = 0.005
READING_HOURS = 24
# Validating every generated entry would take longer than loading them; one in this many is
# checked by the register's own validation, so the generator cannot drift from what it accepts.
VALIDATE_EVERY = 250


@dataclass(frozen=True)
class LoadedRegister:
    public_ids: list[str]
    points: list[tuple[float, float]]
    statuses: Counter[str]
    personal_devices: int


def device_entries(count: int) -> Iterator[dict[str, Any]]:
    """`count` valid register entries, spread over the boroughs by area."""
    rng = random.Random(SEED)  # noqa: S311 - repeatable benchmark data, not secrets
    domains = {slug: domain for slug, _, _, domain in CITY_BODIES}
    numbers: Counter[str] = Counter()
    areas = [b.area_km2 for b in BOROUGHS]
    owners, owner_weights = list(OWNER_WEIGHTS), list(OWNER_WEIGHTS.values())
    kinds = [(code, kind) for code, kind, _ in demo.BOROUGH_MIX]
    kind_weights = [n for _, _, n in demo.BOROUGH_MIX]
    for n in range(count):
        borough: Borough = rng.choices(BOROUGHS, weights=areas)[0]
        owner = rng.choices(owners, weights=owner_weights)[0]
        if owner == "borough":
            code, kind = rng.choices(kinds, weights=kind_weights)[0]
            slug, domain = borough.slug, borough.domain
        else:
            code, kind = CITY_KINDS[owner]
            slug, domain = owner, domains[owner]
        numbers[f"{slug}-{code}"] += 1
        public_id = f"{slug}-{code}-{numbers[f'{slug}-{code}']:05d}"
        entry = demo.device(slug, domain, public_id, kind(rng), borough=borough, rng=rng)
        if entry["dev_eui"]:
            # The demo's random DevEUIs could collide among 100,000; these cannot.
            entry["dev_eui"] = f"70B3D57E{n:08X}"
        yield entry


def load(conn: Conn, count: int) -> LoadedRegister:
    """Add the organisations (audited) and `count` devices (by COPY) in one transaction, then
    vacuum; `conn` must be in autocommit mode."""
    entries = list(device_entries(count))
    with conn.transaction():
        for organisation in demo.organisation_entries():
            organisations.create_organisation(conn, organisation, ACTOR)
        known = {o["slug"]: o for o in register_queries.list_organisations(conn)}
        for entry in entries[::VALIDATE_EVERY]:
            devices.validate(conn, entry, known)
        organisation_ids = {slug: o["id"] for slug, o in known.items()}
        queries.copy_devices(
            conn,
            (
                [organisation_ids[e["organisation"]], *(e[f] for f in DEVICE_FIELDS)]
                for e in entries
            ),
        )
        ids = queries.list_device_ids(conn)
        queries.copy_metrics(conn, _metric_rows(entries, ids))
        # In the order they happened, as a register's history accumulates.
        events = sorted(_audit_rows(entries, ids, organisation_ids), key=lambda event: event[0])
        queries.copy_audit_events(conn, events)
        _add_readings(conn, entries, ids)
    # What autovacuum would soon do: planner statistics, and the visibility map that lets
    # index-only scans skip the table.
    queries.vacuum_analyse(conn)
    return LoadedRegister(
        public_ids=[e["public_id"] for e in entries],
        points=[(e["latitude"], e["longitude"]) for e in entries],
        statuses=Counter(e["status"] for e in entries),
        personal_devices=sum(1 for e in entries if any(m["personal"] for m in e["metrics"])),
    )


def _metric_rows(entries: list[dict[str, Any]], ids: dict[str, int]) -> Iterator[list[Any]]:
    for entry in entries:
        device_id = ids[entry["public_id"]]
        for metric in entry["metrics"]:
            values = {**metric, "retention": periods.parse(metric["retention"])}
            yield [device_id, *(values[f] for f in METRIC_FIELDS)]


AuditRow = tuple[datetime, int, int, str, str]


def _audit_rows(
    entries: list[dict[str, Any]], ids: dict[str, int], organisation_ids: dict[str, int]
) -> Iterator[AuditRow]:
    """A create event on each device's installation day; for some a later change of their first
    metric's retention; for decommissioned devices the decommissioning, as the register would
    have audited them. Never later than now."""
    rng = random.Random(SEED + 1)  # noqa: S311 - repeatable benchmark data
    now = datetime.now(UTC)
    for entry in entries:
        who = ids[entry["public_id"]], organisation_ids[entry["organisation"]]
        installed = _nine_am(entry["installed_on"])
        created = {**entry, "status": "active", "decommissioned_on": None}
        yield _event(min(installed, now), who, "create", audit.diff(None, created))
        if entry["metrics"] and rng.random() < UPDATED_SHARE:
            first = entry["metrics"][0]
            change = {"before": "P3650D", "after": first["retention"]}
            at = min(installed + timedelta(days=rng.randint(30, 600)), now)
            yield _event(at, who, "update", {f"metrics.{first['key']}.retention": change})
        if entry["decommissioned_on"]:
            ended = {
                "status": {"before": "active", "after": "decommissioned"},
                "decommissioned_on": {"before": None, "after": entry["decommissioned_on"]},
            }
            at = min(_nine_am(entry["decommissioned_on"]), now)
            yield _event(at, who, "decommission", ended)


def _nine_am(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(9), UTC)


def _event(at: datetime, who: tuple[int, int], action: str, changes: dict[str, Any]) -> AuditRow:
    return at, who[0], who[1], action, orjson.dumps(changes).decode()


def _add_readings(conn: Conn, entries: list[dict[str, Any]], ids: dict[str, int]) -> None:
    """A day of hourly readings, and last-seen times, for a share of the active devices."""
    rng = random.Random(SEED + 2)  # noqa: S311 - repeatable benchmark data
    active = [ids[e["public_id"]] for e in entries if e["status"] == "active"]
    chosen = rng.sample(active, max(1, int(len(entries) * WITH_READINGS_SHARE)))
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hours = [now - timedelta(hours=h) for h in range(READING_HOURS)]
    metrics = queries.list_metric_ids(conn, chosen)
    queries.copy_readings(
        conn,
        (
            (at, device_id, metric_id, round(rng.uniform(0, 100), 1))
            for metric_id, device_id in metrics
            for at in hours
        ),
    )
    queries.copy_device_activity(conn, ((device_id, now, now) for device_id in sorted(chosen)))
