"""The register as the ingester enforces it: every device and its declared metrics, in memory.

`RegisterCache` answers "which device is this, and what may it send?" without a query per
message. `RegisterFollower` keeps it current: it LISTENs for the register's `register_changed`
notifications and reloads the devices they name, so that a change is enforced within a second;
it reloads everything after a lost connection (notifications may have been missed) and every
`ingest.register_refresh` seconds as a safety net.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg

from ingest import queries
from ingest.messages import DeviceKey
from register.platform import db
from register.platform.config import Settings

log = logging.getLogger(__name__)

CHANNEL = "register_changed"


@dataclass(frozen=True, slots=True)
class Metric:
    id: int
    key: str
    unit: str
    boolean: bool
    # Zero means "not retained": readings are used on arrival and never stored.
    retention_us: int


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    public_id: str
    organisation: str
    status: str
    dev_eui: str | None
    ttn_id: str | None
    metrics: dict[str, Metric]

    def registered_key(self, kind: str) -> str | None:
        """The device's id of one kind ("public_id", "dev_eui", "ttn_id"), if it has one."""
        return {"public_id": self.public_id, "dev_eui": self.dev_eui, "ttn_id": self.ttn_id}[kind]

    def lookup_keys(self) -> list[DeviceKey]:
        keys = [DeviceKey("public_id", self.public_id)]
        if self.dev_eui:
            keys.append(DeviceKey("dev_eui", self.dev_eui))
        if self.ttn_id:
            keys.append(DeviceKey("ttn_id", self.ttn_id))
        return keys


def devices_from_rows(rows: Iterable[queries.EnforcedMetric]) -> list[Device]:
    """Devices from `queries.list_enforced_devices` rows (one row per metric, grouped by device)."""
    devices: dict[int, Device] = {}
    for row in rows:
        device = devices.get(row.device_id)
        if device is None:
            device = Device(
                id=row.device_id,
                public_id=row.public_id,
                organisation=row.organisation,
                status=row.status,
                dev_eui=row.dev_eui,
                ttn_id=row.ttn_id,
                metrics={},
            )
            devices[row.device_id] = device
        metric = _declared_metric(row)
        if metric is not None:
            device.metrics[metric.key] = metric
    return list(devices.values())


def _declared_metric(row: queries.EnforcedMetric) -> Metric | None:
    """The row's metric; None on the one row of a device that declares none, whose metric
    columns are NULL (they are NOT NULL in the register, so that is the only way to be NULL)."""
    if (
        row.metric_id is None
        or row.key is None
        or row.unit is None
        or row.retention_seconds is None
    ):
        return None
    return Metric(
        id=row.metric_id,
        key=row.key,
        unit=row.unit,
        boolean=row.value_kind == "boolean",
        retention_us=round(row.retention_seconds * 1_000_000),
    )


class RegisterCache:
    """Devices by id and by every key a payload may name them with."""

    def __init__(self, devices: Iterable[Device] = ()) -> None:
        self._by_id: dict[int, Device] = {}
        self._by_key: dict[DeviceKey, Device] = {}
        self.loaded = threading.Event()
        # Counts the changes (bumped after each): a check made at an older one may be stale.
        self.generation = 0
        self.replace_all(devices)

    def __len__(self) -> int:
        return len(self._by_id)

    def find(self, keys: Iterable[DeviceKey]) -> Device | None:
        """The first device that one of the keys names."""
        for key in keys:
            device = self._by_key.get(key)
            if device is not None:
                return device
        return None

    def replace_all(self, devices: Iterable[Device]) -> None:
        """Swap in a whole new register in one step."""
        by_id = {device.id: device for device in devices}
        by_key = {key: device for device in by_id.values() for key in device.lookup_keys()}
        self._by_id, self._by_key = by_id, by_key
        self.generation += 1

    def update(self, device_ids: Iterable[int], devices: Iterable[Device]) -> None:
        """Replace the named devices with their new state; ids without a new state are removed."""
        by_id, by_key = dict(self._by_id), dict(self._by_key)
        for device_id in device_ids:
            old = by_id.pop(device_id, None)
            for key in old.lookup_keys() if old else ():
                if by_key.get(key) is old:
                    del by_key[key]
        for device in devices:
            by_id[device.id] = device
            by_key.update(dict.fromkeys(device.lookup_keys(), device))
        self._by_id, self._by_key = by_id, by_key
        self.generation += 1


class RegisterFollower(threading.Thread):
    """Load the register into a cache, then follow its changes until stopped."""

    def __init__(self, settings: Settings, cache: RegisterCache, stopping: threading.Event):
        super().__init__(name="register-follower", daemon=True)
        self.settings = settings
        self.cache = cache
        self.stopping = stopping

    def run(self) -> None:
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                with db.connect(self.settings, autocommit=True, **db.KEEPALIVES) as conn:
                    self._follow(conn)
            except (db.DatabaseError, psycopg.Error) as error:
                log.warning(
                    "cannot follow register changes (%s); retrying in %.0f s",
                    str(error).strip().splitlines()[0] if str(error).strip() else error,
                    backoff,
                )
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, self.settings.ingest.retry_max_backoff)
            except Exception:
                # The thread ends; the ingester notices and exits, and a new process starts clean.
                log.exception("the register follower failed")
                return
            else:
                backoff = 0.5

    def _follow(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f"LISTEN {CHANNEL}")
        self._reload_all(conn)
        next_full = time.monotonic() + self.settings.ingest.register_refresh
        while not self.stopping.is_set():
            changed: set[int] = set()
            everything = False
            for notice in conn.notifies(timeout=0.25):
                device_id = _changed_device(notice.payload)
                if device_id is None:
                    everything = True
                else:
                    changed.add(device_id)
            if everything or time.monotonic() >= next_full:
                self._reload_all(conn)
                next_full = time.monotonic() + self.settings.ingest.register_refresh
            elif changed:
                rows = queries.get_enforced_devices(conn, sorted(changed))
                self.cache.update(changed, devices_from_rows(rows))
                log.debug("reloaded %d changed device(s)", len(changed))

    def _reload_all(self, conn: psycopg.Connection[Any]) -> None:
        started = time.perf_counter()
        self.cache.replace_all(devices_from_rows(queries.list_enforced_devices(conn)))
        self.cache.loaded.set()
        log.info(
            "loaded the register: %d devices in %.2f s",
            len(self.cache),
            time.perf_counter() - started,
        )


def _changed_device(payload: str) -> int | None:
    """The device a notification is about; None when it may concern many (an organisation)."""
    try:
        device_id = orjson.loads(payload).get("device_id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return device_id if isinstance(device_id, int) else None
