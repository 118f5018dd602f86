"""Realistic readings for the register's active devices, over every configured payload format.

`lamplighter up` runs this against the embedded broker so that the demo is live: air quality
that peaks in the rush hours, noise that falls at night, footfall that follows the day,
parking bays that fill and empty. LoRaWAN devices speak The Things Stack or ChirpStack, the
others Lamplighter's native JSON or SenML, so every parser is exercised. With `faults` above
zero, a share of messages carry something the register does not allow (an undeclared metric
or a wrong unit), so that quarantine has something to show.

A device that declares how often it reports (`reporting_interval`) publishes at that interval,
each one: they cost little (a device every minute is 1/60 of a message a second), and one left
out would soon be marked not reporting. Up to `devices` of the others share `rate` messages a
second, in turn. The devices named `silent` publish nothing, so that "not reporting" has
something to show (`lamplighter up` names the demo's `SILENT` devices).
"""

from __future__ import annotations

import heapq
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ingest import queries
from ingest.publisher import Publication, Publisher
from ingest.register_cache import Device, Metric, devices_from_rows
from ingest.settings import DEFAULT_TOPICS, SourceSettings
from register.platform import db
from register.platform.config import Settings

log = logging.getLogger(__name__)

DEVICE_RELOAD_SECONDS = 60.0
TICKS_PER_SECOND = 10
# A device with an interval first publishes within this many seconds (or its interval, if
# shorter) of the start, at a random moment: the demo shows readings at once, without a burst.
FIRST_MESSAGE_WITHIN = 10.0


def _rush_hours(hour: float) -> float:
    """0..1: how busy the streets are, with peaks at 08:30 and 17:30."""
    return max(math.exp(-((hour - 8.5) ** 2) / 2), math.exp(-((hour - 17.5) ** 2) / 3))


def _daytime(hour: float) -> float:
    """0..1: low at 03:00, high mid-afternoon."""
    return (1 - math.cos((hour - 3) / 24 * 2 * math.pi)) / 2


# Each metric key's value from (hour of day, random source, previous value or None).
Generator = Callable[[float, random.Random, float | None], float | bool]
GENERATORS: dict[str, Generator] = {
    "no2": lambda h, r, _: round(18 + 35 * _rush_hours(h) + r.gauss(0, 4), 1),
    "pm2_5": lambda h, r, _: round(max(1.0, 7 + 8 * _rush_hours(h) + r.gauss(0, 2)), 1),
    "pm10": lambda h, r, _: round(max(2.0, 14 + 12 * _rush_hours(h) + r.gauss(0, 3)), 1),
    "o3": lambda h, r, _: round(max(0.0, 30 + 25 * _daytime(h) + r.gauss(0, 5)), 1),
    "laeq": lambda h, r, _: round(48 + 18 * _daytime(h) + r.gauss(0, 2), 1),
    "lamax": lambda h, r, _: round(60 + 20 * _daytime(h) + abs(r.gauss(0, 6)), 1),
    "people_in": lambda h, r, _: r.randint(0, 2 + int(60 * _daytime(h))),
    "people_out": lambda h, r, _: r.randint(0, 2 + int(60 * _daytime(h))),
    "people_count": lambda h, r, _: r.randint(0, 5 + int(200 * _daytime(h))),
    "vehicle_count": lambda h, r, _: r.randint(0, 5 + int(120 * _rush_hours(h))),
    "light_level": lambda h, r, _: 0 if 7 <= h < 16.5 else (100 if h < 1 or h >= 17 else 60),
    "energy": lambda h, r, _: 0.0 if 7 <= h < 16.5 else round(r.uniform(9, 11), 2),
    "occupied": lambda h, r, _: r.random() < 0.2 + 0.7 * _daytime(h),
    "fill_level": lambda h, r, prev: 5.0 if prev is None or prev >= 95 else round(prev + 0.5, 1),
    "battery": lambda h, r, prev: round(max(3.3, (prev or 3.7) - r.uniform(0, 0.0005)), 4),
    "temperature": lambda h, r, _: round(7 + 6 * _daytime(h) + r.gauss(0, 0.5), 2),
    "humidity": lambda h, r, _: round(min(100, 85 - 20 * _daytime(h) + r.gauss(0, 3)), 1),
}


def value_for(metric: Metric, hour: float, rng: random.Random, previous: float | None) -> Any:
    generator = GENERATORS.get(metric.key)
    if generator is not None:
        return generator(hour, rng, previous)
    return rng.random() < 0.5 if metric.boolean else round(rng.uniform(0, 100), 2)


def fill_topic(topic_filter: str, *levels: str) -> str | None:
    """A concrete topic from a filter, `+` wildcards filled in order; None if it has `#`."""
    if "#" in topic_filter:
        return None
    parts = topic_filter.split("/")
    if parts[:1] == ["$share"]:
        parts = parts[2:]
    values = iter(levels)
    filled = [next(values, "x") if part == "+" else part for part in parts]
    return "/".join(filled)


@dataclass
class Route:
    """Where and how one simulated device publishes, and how often: every `interval` seconds,
    or in turn with the other devices without one (None)."""

    source: SourceSettings
    device: Device
    interval: float | None = None

    def message(self, values: dict[str, Any], now: float, fault: str | None) -> Publication:
        fmt, device = self.source.format, self.device
        topic_filter = (self.source.topics or DEFAULT_TOPICS[fmt])[0]
        if fault == "undeclared":
            values = {**values, "co2": 412}
        if fmt in ("native", "senml"):
            topic = fill_topic(topic_filter, device.organisation, device.public_id)
            units = {k: device.metrics[k].unit if k in device.metrics else "ppm" for k in values}
            if fault == "unit":
                units = dict.fromkeys(units, "Cel")
            body = _native(values, units, now) if fmt == "native" else _senml(values, units, now)
        elif fmt == "ttn":
            application_at_tenant, _, device_id = (device.ttn_id or "").rpartition("/")
            topic = fill_topic(topic_filter, application_at_tenant, device_id)
            body = _ttn(device, device_id, application_at_tenant, values, now)
        else:
            topic = fill_topic(topic_filter, "lamplighter-demo", (device.dev_eui or "").lower())
            body = _chirpstack(device, values, now)
        return Publication(topic or "", orjson.dumps(body))


def _native(values: dict[str, Any], units: dict[str, str], now: float) -> dict[str, Any]:
    readings = {k: ({"value": v, "unit": units[k]} if units[k] else v) for k, v in values.items()}
    return {"time": round(now, 3), "readings": readings}


def _senml(values: dict[str, Any], units: dict[str, str], now: float) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for key, value in values.items():
        record: dict[str, Any] = {"n": key, ("vb" if isinstance(value, bool) else "v"): value}
        if units[key]:
            record["u"] = units[key]
        records.append(record)
    records[0].update({"bt": round(now, 3)})
    return records


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")


def _ttn(
    device: Device, device_id: str, app_at_tenant: str, values: dict[str, Any], now: float
) -> dict[str, Any]:
    return {
        "end_device_ids": {
            "device_id": device_id,
            "application_ids": {"application_id": app_at_tenant.partition("@")[0]},
            "dev_eui": device.dev_eui,
        },
        "received_at": _iso(now),
        "uplink_message": {"f_port": 1, "decoded_payload": values, "received_at": _iso(now)},
    }


def _chirpstack(device: Device, values: dict[str, Any], now: float) -> dict[str, Any]:
    return {
        "deduplicationId": f"{device.id:08x}-{int(now * 1000):012x}",
        "time": _iso(now),
        "deviceInfo": {"devEui": (device.dev_eui or "").lower(), "deviceName": device.public_id},
        "fPort": 1,
        "object": values,
    }


def routes_for(
    devices: list[Device],
    sources: list[SourceSettings],
    count: int,
    intervals: dict[int, float] | None = None,
    silent: frozenset[str] = frozenset(),
) -> list[Route]:
    """A route for every active device with metrics that declares an interval (in `intervals`,
    seconds by device id), and for up to `count` of those that do not; each on a source of a
    format it can speak. The devices whose public ids are in `silent` get none."""
    intervals = intervals or {}
    by_format: dict[str, list[SourceSettings]] = {}
    for source in sources:
        by_format.setdefault(source.format, []).append(source)
    usable = sorted(
        (d for d in devices if d.status == "active" and d.metrics and d.public_id not in silent),
        key=lambda d: d.id,
    )
    scheduled = [d for d in usable if d.id in intervals]
    paced = [d for d in usable if d.id not in intervals]
    # Spread the choice over the whole register rather than the first organisation's devices.
    step = max(1, len(paced) // count) if count else 1
    routes = []
    for device in sorted(scheduled + paced[::step][:count], key=lambda d: d.id):
        formats: list[str]
        if device.ttn_id or device.dev_eui:
            formats = [f for f in ("ttn", "chirpstack") if f in by_format]
            formats = [
                f
                for f in formats
                if (f == "ttn" and device.ttn_id) or (f == "chirpstack" and device.dev_eui)
            ]
        else:
            formats = [f for f in ("native", "senml") if f in by_format]
        if formats:
            fmt = formats[device.id % len(formats)]
            routes.append(Route(by_format[fmt][0], device, intervals.get(device.id)))
    return routes


class Timetable:
    """When each device with an interval publishes next (wall-clock seconds), soonest first."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.routes: dict[int, Route] = {}
        self.intervals: dict[int, float] = {}
        self.next_at: dict[int, float] = {}
        self.queue: list[tuple[float, int]] = []

    def load(self, routes: list[Route], now: float) -> None:
        """Follow these routes from now on; a device already followed keeps its next time."""
        self.routes = {r.device.id: r for r in routes if r.interval is not None}
        self.intervals = {r.device.id: r.interval for r in routes if r.interval is not None}
        self.next_at = {
            device_id: self.next_at.get(device_id)
            or now + self.rng.uniform(0, min(interval, FIRST_MESSAGE_WITHIN))
            for device_id, interval in self.intervals.items()
        }
        self.queue = [(at, device_id) for device_id, at in self.next_at.items()]
        heapq.heapify(self.queue)

    def due(self, now: float, most: int | None) -> list[Route]:
        """The routes due by `now` (at most `most`), each rescheduled one interval on (or one
        interval from now, if it fell behind by more than that)."""
        found: list[Route] = []
        while self.queue and self.queue[0][0] <= now and (most is None or len(found) < most):
            at, device_id = heapq.heappop(self.queue)
            following = max(at + self.intervals[device_id], now)
            self.next_at[device_id] = following
            heapq.heappush(self.queue, (following, device_id))
            found.append(self.routes[device_id])
        return found

    @property
    def messages_per_second(self) -> float:
        return sum(1 / seconds for seconds in self.intervals.values())


class Simulator:
    def __init__(
        self,
        settings: Settings,
        *,
        devices: int,
        rate: float,
        faults: float,
        seed: int | None = None,
        silent: frozenset[str] = frozenset(),
    ) -> None:
        self.settings = settings
        self.device_count = devices
        self.silent = silent
        self.rate = rate
        self.faults = faults
        self.rng = random.Random(seed)  # noqa: S311 - simulated readings, not secrets
        self.previous: dict[tuple[int, str], float] = {}
        self.sent = 0
        self.paced_sent = 0
        self.timetable = Timetable(self.rng)
        self.stopping = threading.Event()

    def load_routes(self) -> list[Route]:
        with db.connect(self.settings) as conn:
            devices = devices_from_rows(queries.list_enforced_devices(conn))
            intervals = queries.list_reporting_intervals(conn)
        return routes_for(
            devices, list(self.settings.mqtt.sources), self.device_count, intervals, self.silent
        )

    def next_message(self, route: Route, now: float) -> Publication:
        hour = (now % 86400) / 3600
        values = {}
        for metric in route.device.metrics.values():
            previous = self.previous.get((route.device.id, metric.key))
            value = value_for(metric, hour, self.rng, previous)
            if not isinstance(value, bool):
                self.previous[(route.device.id, metric.key)] = value
            values[metric.key] = value
        fault = None
        if self.rng.random() < self.faults:
            # LoRaWAN formats carry no units, so they can only get an undeclared metric wrong.
            carries_units = route.source.format in ("native", "senml")
            fault = self.rng.choice(["undeclared", "unit"]) if carries_units else "undeclared"
        return route.message(values, now, fault)

    def run(self, limit: int | None = None) -> int:
        """Publish until stopped, or until `limit` messages; the number published.

        Raises PublishError when the broker cannot be reached or refuses the connection.
        """
        paced: list[Route] = []
        last_said = ""
        reload_at = 0.0
        per_tick = self.rate / TICKS_PER_SECOND
        owed = 0.0
        client_id = f"lamplighter-simulator-{self.rng.randrange(10**6)}"
        with Publisher(self.settings, client_id) as publisher:
            next_tick = time.monotonic()
            while not self.stopping.is_set() and (limit is None or self.sent < limit):
                if time.monotonic() >= reload_at:
                    routes = self.load_routes()
                    self.timetable.load(routes, time.time())
                    paced = [r for r in routes if r.interval is None]
                    reload_at = time.monotonic() + DEVICE_RELOAD_SECONDS
                    said = (
                        f"simulating {len(self.timetable.routes)} devices at their declared "
                        f"intervals ({self.timetable.messages_per_second:.1f} messages/s), "
                        f"{len(paced)} more at {self.rate:.1f} messages/s, "
                        f"{len(self.silent)} silent on purpose"
                    )
                    if said != last_said:  # said again only when the register changed it
                        log.info("%s", said)
                        last_said = said
                now = time.time()
                left = None if limit is None else limit - self.sent
                batch = [self.next_message(r, now) for r in self.timetable.due(now, left)]
                owed += per_tick
                while owed >= 1 and paced and (limit is None or self.sent + len(batch) < limit):
                    batch.append(self.next_message(paced[self.paced_sent % len(paced)], now))
                    self.paced_sent += 1
                    owed -= 1
                if not paced:
                    owed = 0.0
                if batch:
                    publisher.publish(batch)
                    self.sent += len(batch)
                next_tick += 1 / TICKS_PER_SECOND
                self.stopping.wait(max(0.0, next_tick - time.monotonic()))
            if not publisher.wait_acked(30):
                log.warning("the broker did not acknowledge every simulated message in 30 s")
        return self.sent
