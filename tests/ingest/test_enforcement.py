"""A register change is enforced by a running ingester within seconds (NOTIFY, not polling)."""

from __future__ import annotations

import json
import time

from ingest import reasons
from ingest.service import Ingester
from register import devices
from register.platform import db
from register.platform.config import Settings
from tests.ingest.conftest import count, publish, wait_until
from tests.register.factories import ADMIN

# The promise: a change is enforced within 5 s. The ingester follows NOTIFY, so it is usually
# well under a second; the figure is printed for the record.
ENFORCED_WITHIN = 5.0


def reading(prefix: str, key: str, n: int) -> tuple[str, bytes]:
    body = {"time": time.time() - 60 + n / 1000, "readings": {key: n}}
    return f"{prefix}/lamplighter/camden/camden-aq-0001/up", json.dumps(body).encode()


def keep_sending_until(settings: Settings, prefix: str, key: str, sql: str) -> float:
    """Publish a new `key` reading every 50 ms until `sql` counts one; the seconds it took."""
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < ENFORCED_WITHIN:
        n += 1
        publish(settings, [reading(prefix, key, n)])
        if count(settings, sql):
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not enforced within {ENFORCED_WITHIN} s")


def test_a_metric_declared_while_the_ingester_runs_is_accepted_within_5_s(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    undeclared = "SELECT count(*) FROM quarantine WHERE reason = 'undeclared_metric'"
    publish(ingest_settings, [reading(prefix, "co2", 0)])
    keep_sending_until(ingest_settings, prefix, "co2", undeclared)

    with db.connect(ingest_settings) as conn, conn.transaction():
        entry = devices.get_device(conn, "camden-aq-0001")
        assert entry is not None
        entry["metrics"].append(
            {"key": "co2", "label": "Carbon dioxide", "unit": "ppm", "retention": "P7D"}
        )
        devices.update_device(conn, "camden-aq-0001", entry, ADMIN)
    seconds = keep_sending_until(
        ingest_settings,
        prefix,
        "co2",
        "SELECT count(*) FROM readings r JOIN device_metrics m ON m.id = r.metric_id "
        "WHERE m.key = 'co2'",
    )
    print(f"co2 accepted {seconds:.2f} s after it was declared")  # noqa: T201


def test_a_device_decommissioned_while_the_ingester_runs_is_refused_within_5_s(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    publish(ingest_settings, [reading(prefix, "no2", 0)])
    keep_sending_until(ingest_settings, prefix, "no2", "SELECT count(*) FROM readings")

    with db.connect(ingest_settings) as conn, conn.transaction():
        devices.decommission_device(conn, "camden-aq-0001", ADMIN)
    seconds = keep_sending_until(
        ingest_settings,
        prefix,
        "no2",
        f"SELECT count(*) FROM quarantine WHERE reason = '{reasons.DEVICE_DECOMMISSIONED}'",
    )
    print(f"readings refused {seconds:.2f} s after the decommission")  # noqa: T201
    refused = f"SELECT count(*) FROM quarantine WHERE reason = '{reasons.DEVICE_DECOMMISSIONED}'"
    stored_before = count(ingest_settings, "SELECT count(*) FROM readings")
    refused_before = count(ingest_settings, refused)
    publish(ingest_settings, [reading(prefix, "no2", 10_000 + n) for n in range(20)])
    wait_until(
        lambda: count(ingest_settings, refused) >= refused_before + 20,
        what="all 20 later readings refused",
    )
    assert count(ingest_settings, "SELECT count(*) FROM readings") == stored_before
