"""An in-memory register and message builders for the ingester's pure tests (no services)."""

from __future__ import annotations

import json
import time
from typing import Any

from ingest.checks import Limits, Outcome, check_message
from ingest.messages import Message
from ingest.register_cache import Device, Metric, RegisterCache

DAY_US = 86_400_000_000
NOW_US = (int(time.time()) // 60 * 60) * 1_000_000
NOW = NOW_US / 1_000_000
LIMITS = Limits(max_payload_bytes=4096, future_skew_us=300_000_000)
DEV_EUI = "70B3D57ED0000001"
TTN_ID = "camden-sensors@ttn/camden-lora-0001"


def _metrics(*specs: tuple[int, str, str, bool, int]) -> dict[str, Metric]:
    return {
        key: Metric(mid, key, unit, boolean, days * DAY_US)
        for mid, key, unit, boolean, days in specs
    }


AIR_METRICS = _metrics(
    (11, "no2", "ug/m3", False, 30),
    (12, "pm2_5", "ug/m3", False, 365),
    (13, "occupied", "", True, 30),
    (14, "clip", "", True, 0),  # declared "not retained"
    (15, "battery", "V", False, 30),
)
LORA_METRICS = _metrics((21, "temperature", "Cel", False, 30), (22, "humidity", "%RH", False, 30))

DEVICES = [
    Device(1, "camden-aq-0001", "camden", "active", None, None, AIR_METRICS),
    Device(2, "camden-aq-0002", "camden", "planned", None, None, AIR_METRICS),
    Device(3, "camden-aq-0003", "camden", "suspended", None, None, AIR_METRICS),
    Device(4, "camden-aq-0004", "camden", "decommissioned", None, None, AIR_METRICS),
    Device(5, "camden-lora-0001", "camden", "active", DEV_EUI, TTN_ID, LORA_METRICS),
    # Registered by DevEUI only: a TTN uplink finds it by its DevEUI.
    Device(6, "camden-lora-0002", "camden", "active", "70B3D57ED0000002", None, LORA_METRICS),
]


def cache() -> RegisterCache:
    return RegisterCache(DEVICES)


def message(topic: str, payload: Any, *, received_us: int = NOW_US, raw: bool = False) -> Message:
    body = payload if raw else json.dumps(payload).encode()
    return Message("test", topic, body, 7, 1, received_us)


def check(fmt: str, topic: str, payload: Any, *, raw: bool = False) -> Outcome:
    return check_message(message(topic, payload, raw=raw), fmt, cache(), LIMITS, NOW_US)


def native(
    readings: dict[str, Any],
    *,
    time: Any = NOW,
    device: str = "camden-aq-0001",
    organisation: str = "camden",
) -> Outcome:
    topic = f"lamplighter/{organisation}/{device}/up"
    return check("native", topic, {"time": time, "readings": readings})


def senml(pack: Any, device: str = "camden-aq-0001") -> Outcome:
    return check("senml", f"lamplighter/camden/{device}/senml", pack)


def ttn_uplink(decoded: Any, **changes: Any) -> dict[str, Any]:
    uplink = {
        "end_device_ids": {
            "device_id": "camden-lora-0001",
            "application_ids": {"application_id": "camden-sensors"},
            "dev_eui": DEV_EUI,
            "join_eui": "0000000000000000",
            "dev_addr": "260B1234",
        },
        "correlation_ids": ["as:up:01H"],
        "received_at": "2026-11-22T20:15:01.123456789Z",
        "uplink_message": {
            "session_key_id": "AYZ",
            "f_port": 2,
            "f_cnt": 101,
            "frm_payload": "AQID",
            "decoded_payload": decoded,
            "rx_metadata": [{"gateway_ids": {"gateway_id": "gw-camden-1"}, "rssi": -97}],
            "received_at": _iso(NOW_US - 1_000_000),
        },
    }
    uplink.update(changes)
    return uplink


TTN_TOPIC = "v3/camden-sensors@ttn/devices/camden-lora-0001/up"


def chirpstack_event(decoded: Any, **changes: Any) -> dict[str, Any]:
    event = {
        "deduplicationId": "3a1c6d9e-6f7e-4a5b-9c4e-1d2e3f405162",
        "time": _iso(NOW_US - 2_000_000, nanoseconds=True),
        "deviceInfo": {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "tenantName": "Camden",
            "applicationId": "1f8a4b1e-0c2d-4e5f-8a9b-0c1d2e3f4a5b",
            "applicationName": "camden-sensors",
            "deviceName": "camden-lora-0001",
            "devEui": DEV_EUI.lower(),
            "tags": {},
        },
        "devAddr": "01f2a3b4",
        "fCnt": 7,
        "fPort": 2,
        "data": "AQID",
        "object": decoded,
        "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -80, "snr": 9.5}],
    }
    event.update(changes)
    return event


CHIRPSTACK_TOPIC = f"application/1f8a4b1e/device/{DEV_EUI.lower()}/event/up"


def _iso(micros: int, *, nanoseconds: bool = False) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{fraction:06d}{'123' if nanoseconds else ''}+00:00"


def reasons_of(outcome: Outcome) -> list[str]:
    return sorted(reason for reason, _, _ in outcome.rejections)
