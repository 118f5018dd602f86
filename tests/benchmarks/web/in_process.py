"""Server time of the near-me search and of the full GeoJSON export, measured in-process.

Each request is a WSGI call into the Flask application (routing, filters, queries, JSON), timed
around the call, so the figures are the server's work without any client or network.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from flask import Flask

from tests.benchmarks.common import quantile

# Near-me points are where people are: at a device, moved up to this far in a random direction.
POINT_SPREAD_M = 250.0
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class NearMe:
    p50: float
    p95: float
    mean_matches: float


@dataclass(frozen=True)
class Export:
    cold: float
    warm: float
    not_modified: float
    megabytes: float


def points_near(devices: list[tuple[float, float]], count: int) -> list[tuple[float, float]]:
    """`count` random points inside the area the devices cover."""
    rng = random.Random(11)  # noqa: S311 - where to search, not secrets
    points = []
    for latitude, longitude in rng.choices(devices, k=count):
        distance, bearing = POINT_SPREAD_M * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        north, east = distance * math.cos(bearing), distance * math.sin(bearing)
        points.append(
            (
                round(latitude + north / METRES_PER_DEGREE, 6),
                round(longitude + east / (METRES_PER_DEGREE * math.cos(math.radians(latitude))), 6),
            )
        )
    return points


def near_me(app: Flask, points: list[tuple[float, float]], radius: float) -> NearMe:
    """`/devices.json?near=…&radius=…` at each point (after a few untimed, to warm up)."""
    client = app.test_client()
    for latitude, longitude in points[:10]:
        client.get(f"/devices.json?near={latitude},{longitude}&radius={radius:g}")
    seconds, matches = [], []
    for latitude, longitude in points:
        started = time.perf_counter()
        answer = client.get(f"/devices.json?near={latitude},{longitude}&radius={radius:g}")
        seconds.append(time.perf_counter() - started)
        if answer.status_code != 200:
            problem = answer.get_data()[:200]
            raise RuntimeError(f"near-me answered {answer.status_code}: {problem!r}")
        matches.append(answer.get_json()["total"])
    return NearMe(quantile(seconds, 0.50), quantile(seconds, 0.95), sum(matches) / len(matches))


def geojson_export(app: Flask) -> Export:
    """`/register.geojson` built for the first time, then from the kept body, then a 304."""
    client = app.test_client()
    started = time.perf_counter()
    first = client.get("/register.geojson")
    cold = time.perf_counter() - started
    started = time.perf_counter()
    second = client.get("/register.geojson")
    warm = time.perf_counter() - started
    started = time.perf_counter()
    third = client.get("/register.geojson", headers={"If-None-Match": first.headers["ETag"]})
    not_modified = time.perf_counter() - started
    if (first.status_code, second.status_code, third.status_code) != (200, 200, 304):
        raise RuntimeError(
            f"the export answered {first.status_code}, {second.status_code}, {third.status_code}"
        )
    return Export(cold, warm, not_modified, len(first.get_data()) / 1_000_000)
