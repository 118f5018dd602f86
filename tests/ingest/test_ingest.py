"""The ingester end to end: a real broker, a real database, the register enforced."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest

from ingest import queries, reasons
from ingest.backlog import Backlog
from ingest.messages import DeviceKey, Message
from ingest.register_cache import RegisterCache, devices_from_rows
from ingest.service import Ingester
from ingest.stats import IngestStats
from ingest.writer import Writer
from register.platform import db
from register.platform.config import Settings
from register.stack.runtime import free_port
from tests.ingest.conftest import (
    DEV_EUI,
    count,
    ingest_settings_for,
    publish,
    query,
    wait_until,
)


def now_iso(offset: float = 0.0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(time.time() + offset))) + "Z"


def native_message(
    prefix: str,
    readings: dict[str, object],
    *,
    device: str = "camden-aq-0001",
    when: object = None,
    organisation: str = "camden",
) -> tuple[str, bytes]:
    body = {"time": when if when is not None else now_iso(), "readings": readings}
    return f"{prefix}/lamplighter/{organisation}/{device}/up", json.dumps(body).encode()


def stored(settings: Settings) -> list[tuple[str, str, float]]:
    return [
        (public_id, key, value)
        for public_id, key, value in query(
            settings,
            """SELECT d.public_id, m.key, r.value FROM readings r
               JOIN devices d ON d.id = r.device_id JOIN device_metrics m ON m.id = r.metric_id
               ORDER BY d.public_id, m.key, r.time""",
        )
    ]


def test_native_senml_ttn_and_chirpstack_messages_are_stored(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    seconds = int(time.time())
    ttn = {
        "end_device_ids": {
            "device_id": "camden-lora-0001",
            "dev_eui": DEV_EUI,
            "application_ids": {"application_id": "camden-sensors"},
        },
        "uplink_message": {"decoded_payload": {"temperature": 12.5}, "received_at": now_iso(-1)},
    }
    chirpstack = {
        "deduplicationId": "3a1c6d9e-6f7e-4a5b-9c4e-1d2e3f405162",
        "time": now_iso(-2),
        "deviceInfo": {"devEui": DEV_EUI.lower(), "deviceName": "camden-lora-0001"},
        "object": {"humidity": 81},
    }
    publish(
        ingest_settings,
        [
            native_message(prefix, {"no2": 21.5}),
            (
                f"{prefix}/lamplighter/camden/camden-aq-0001/senml",
                json.dumps(
                    [
                        {
                            "bn": "camden-aq-0001/",
                            "bt": seconds - 5,
                            "bu": "ug/m3",
                            "n": "pm2_5",
                            "v": 6.5,
                        }
                    ]
                ).encode(),
            ),
            (
                f"{prefix}/v3/camden-sensors@ttn/devices/camden-lora-0001/up",
                json.dumps(ttn).encode(),
            ),
            (
                f"{prefix}/application/7/device/{DEV_EUI.lower()}/event/up",
                json.dumps(chirpstack).encode(),
            ),
        ],
    )
    wait_until(lambda: len(stored(ingest_settings)) == 4, what="four readings")
    assert stored(ingest_settings) == [
        ("camden-aq-0001", "no2", 21.5),
        ("camden-aq-0001", "pm2_5", 6.5),
        ("camden-lora-0001", "humidity", 81.0),
        ("camden-lora-0001", "temperature", 12.5),
    ]
    assert count(ingest_settings, "SELECT count(*) FROM quarantine") == 0


def test_each_kind_of_bad_message_is_quarantined_with_its_reason(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    senml_topic = f"{prefix}/lamplighter/camden/camden-aq-0001/senml"
    bad = {
        reasons.PAYLOAD_TOO_LARGE: (native_message(prefix, {})[0], b"[" + b"1," * 40000 + b"1]"),
        reasons.INVALID_JSON: (native_message(prefix, {})[0], b"{'no2': 1}"),
        reasons.INVALID_STRUCTURE: (native_message(prefix, {})[0], b'{"no2": 1}'),
        reasons.UNSUPPORTED_SENML: (senml_topic, b'[{"bver": 99, "n": "no2", "v": 1}]'),
        reasons.UNKNOWN_DEVICE: native_message(prefix, {"no2": 1}, device="camden-aq-0404"),
        reasons.TOPIC_MISMATCH: native_message(prefix, {"no2": 1}, organisation="hackney"),
        reasons.NO_READINGS: native_message(prefix, {}),
        reasons.UNDECLARED_METRIC: native_message(prefix, {"co2": 400}),
        reasons.UNIT_MISMATCH: native_message(prefix, {"no2": {"value": 3, "unit": "ppm"}}),
        reasons.INVALID_VALUE: native_message(prefix, {"no2": "high"}),
        reasons.INVALID_TIME: native_message(prefix, {"no2": 1}, when="2026-11-22 20:15"),
        reasons.FUTURE_TIME: native_message(prefix, {"no2": 1}, when=now_iso(3600)),
        reasons.PAST_RETENTION: native_message(prefix, {"no2": 1}, when=now_iso(-40 * 86400)),
    }
    publish(ingest_settings, list(bad.values()))
    wait_until(
        lambda: count(ingest_settings, "SELECT count(*) FROM quarantine") >= len(bad),
        what="every bad message in quarantine",
    )
    rows = query(
        ingest_settings,
        "SELECT reason, topic, payload, payload_size, device_id, message FROM quarantine",
    )
    assert sorted(r[0] for r in rows) == sorted(bad)
    assert count(ingest_settings, "SELECT count(*) FROM readings") == 0
    by_reason = {r[0]: r for r in rows}
    for reason, (topic, payload) in bad.items():
        _, q_topic, q_payload, size, _, text = by_reason[reason]
        assert q_topic == topic and size == len(payload) and text
        keep = ingest_settings.ingest.quarantine_payload_bytes
        assert bytes(q_payload) == payload[:keep], "quarantine keeps a bounded prefix"
    device = count(ingest_settings, "SELECT id FROM devices WHERE public_id = 'camden-aq-0001'")
    assert by_reason[reasons.UNDECLARED_METRIC][4] == device
    assert by_reason[reasons.UNKNOWN_DEVICE][4] is None
    counted = {
        r: ingester.stats.value("lamplighter_ingest_quarantine_records_total", {"reason": r})
        for r in bad
    }
    assert counted == dict.fromkeys(bad, 1.0)


def test_devices_that_are_not_active_are_refused(register_db: Settings, prefix: str) -> None:
    from register import devices  # noqa: PLC0415
    from register.platform.db import connect  # noqa: PLC0415
    from tests.register.factories import ADMIN, add_device  # noqa: PLC0415

    with connect(register_db) as conn, conn.transaction():
        add_device(conn, "camden-aq-0002", status="planned")
        add_device(conn, "camden-aq-0003", status="suspended")
        add_device(conn, "camden-aq-0004")
        devices.decommission_device(conn, "camden-aq-0004", ADMIN)
    settings = ingest_settings_for(register_db, prefix)
    running = Ingester(settings)
    running.start()
    try:
        wait_until(lambda: all(s.subscribed.is_set() for s in running.sources.values()))
        publish(
            settings,
            [native_message(prefix, {"no2": 1}, device=f"camden-aq-000{n}") for n in (2, 3, 4)],
        )
        wait_until(lambda: count(settings, "SELECT count(*) FROM quarantine") == 3)
    finally:
        running.stop()
    assert sorted(r[0] for r in query(settings, "SELECT reason FROM quarantine")) == [
        reasons.DEVICE_DECOMMISSIONED,
        reasons.DEVICE_NOT_ACTIVE,
        reasons.DEVICE_NOT_ACTIVE,
    ]
    assert count(settings, "SELECT count(*) FROM readings") == 0
    # Refused, but heard from: each shows when it was last seen.
    wait_until(lambda: count(settings, "SELECT count(*) FROM device_activity") == 3)


def test_a_partly_good_message_stores_its_good_readings_and_quarantines_the_rest(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    publish(
        ingest_settings,
        [
            native_message(
                prefix,
                {
                    "no2": 18,
                    "pm2_5": {"value": 0.009, "unit": "mg/m3"},
                    "co2": 400,
                    "no": {"value": 2, "unit": "ug/m3"},
                    "pm10": "n/a",
                },
            )
        ],
    )
    wait_until(lambda: count(ingest_settings, "SELECT count(*) FROM quarantine") == 1)
    wait_until(lambda: len(stored(ingest_settings)) == 2)
    assert stored(ingest_settings) == [
        ("camden-aq-0001", "no2", 18.0),
        ("camden-aq-0001", "pm2_5", pytest.approx(9.0)),
    ]
    [(reason, text)] = query(ingest_settings, "SELECT reason, message FROM quarantine")
    assert reason == reasons.UNDECLARED_METRIC
    assert text == "camden-aq-0001: co2, no, pm10: not declared for this device"


def test_a_message_delivered_twice_is_stored_once(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    message = native_message(prefix, {"no2": 30, "pm2_5": 9})
    publish(ingest_settings, [message, message])
    wait_until(
        lambda: ingester.stats.value("lamplighter_ingest_readings_duplicate_total") == 2,
        what="the second copy to be skipped",
    )
    assert len(stored(ingest_settings)) == 2


def test_a_batch_holding_one_stored_message_stores_the_rest_and_skips_only_that_one(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    # The writer copies a batch straight into readings; a reading already stored fails that,
    # and the batch is stored again through the staging table, skipping the stored one.
    now = int(time.time())
    first = native_message(prefix, {"no2": 1}, when=now - 3)
    publish(ingest_settings, [first])
    wait_until(lambda: len(stored(ingest_settings)) == 1)
    later = [native_message(prefix, {"no2": n, "pm2_5": n}, when=now - 3 + n) for n in (1, 2)]
    publish(ingest_settings, [later[0], first, later[1]])
    wait_until(lambda: len(stored(ingest_settings)) == 5, what="the new readings")
    assert ingester.stats.value("lamplighter_ingest_readings_duplicate_total") == 1
    assert ingester.stats.value("lamplighter_ingest_readings_stored_total") == 5
    assert query(ingest_settings, "SELECT count(*) FROM quarantine") == [(0,)]
    # The next batches take the staging table's way for a while, not one failed COPY each.
    assert ingester.writer.fast_again_at > time.monotonic()


def test_messages_without_a_device_time_read_together_are_each_stored(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    # Stamped on arrival: many arrive in one socket read, and each needs a time of its own.
    topic = f"{prefix}/lamplighter/camden/camden-aq-0001/senml"
    publish(ingest_settings, [(topic, b'[{"n": "no2", "v": %d}]' % n) for n in range(200)])
    wait_until(lambda: len(stored(ingest_settings)) == 200, what="200 readings")
    assert ingester.stats.value("lamplighter_ingest_readings_duplicate_total") == 0


def test_last_seen_is_kept_with_one_write_per_interval_not_per_message(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    sent_at = time.time()
    publish(
        ingest_settings,
        [native_message(prefix, {"no2": n}, when=int(sent_at) - 600 + n) for n in range(300)],
    )
    wait_until(lambda: len(stored(ingest_settings)) == 300)
    newest = int(sent_at) - 600 + 299

    def activity() -> list[tuple[float, float]]:
        return query(
            ingest_settings,
            "SELECT extract(epoch FROM last_seen_at)::float8, "
            "extract(epoch FROM last_stored_at)::float8 FROM device_activity "
            "WHERE last_stored_at = to_timestamp(%s)",
            newest,
        )

    [(last_seen, last_stored)] = wait_until(activity, what="the newest reading's last-seen write")
    assert last_seen >= sent_at - 1
    assert last_stored == newest
    [(inserts, updates)] = query(
        ingest_settings,
        "SELECT n_tup_ins, n_tup_upd FROM pg_stat_user_tables WHERE relname = 'device_activity'",
    )
    assert inserts + updates < 30, "300 messages must not mean 300 writes"


def test_counters_are_served_for_prometheus(register_db: Settings, prefix: str) -> None:
    port = free_port()
    settings = ingest_settings_for(register_db, prefix, metrics_port=port)
    running = Ingester(settings)
    running.start()
    try:
        wait_until(lambda: all(s.subscribed.is_set() for s in running.sources.values()))
        publish(settings, [native_message(prefix, {"no2": 1, "co2": 2})])
        wait_until(lambda: running.stats.value("lamplighter_ingest_readings_stored_total") == 1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    finally:
        running.stop()
    for line in [
        'lamplighter_ingest_messages_total{source="native"} 1.0',
        "lamplighter_ingest_readings_stored_total 1.0",
        'lamplighter_ingest_readings_rejected_total{reason="undeclared_metric"} 1.0',
        "lamplighter_ingest_queue_messages 0.0",
        "lamplighter_ingest_batch_messages_count 1.0",
        "lamplighter_ingest_sources_subscribed 4.0",
    ]:
        assert line in text
    assert "lamplighter_ingest_batch_seconds_bucket" in text
    assert "lamplighter_ingest_delay_seconds_bucket" in text


def test_text_postgresql_cannot_hold_is_escaped_and_nothing_stalls(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    topic = native_message(prefix, {})[0]
    when = now_iso()
    nul_key = f'{{"time": "{when}", "readings": {{"no\\u0000x": 1}}}}'.encode()
    surrogate_key = f'{{"time": "{when}", "readings": {{"\\ud800": 2}}}}'.encode()
    publish(ingest_settings, [(topic, nul_key), (topic, surrogate_key),
                              native_message(prefix, {"no2": 5})])  # fmt: skip
    wait_until(lambda: count(ingest_settings, "SELECT count(*) FROM quarantine") == 2)
    wait_until(lambda: len(stored(ingest_settings)) == 1)
    texts = sorted(t for (t,) in query(ingest_settings, "SELECT message FROM quarantine"))
    assert texts == sorted(
        [
            "camden-aq-0001: no\\x00x: not declared for this device",
            "camden-aq-0001: \\ud800: not declared for this device",
        ]
    )


def test_a_message_the_database_refuses_costs_that_message_only(
    ingester: Ingester, ingest_settings: Settings, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the escaping, a NUL in a metric key makes PostgreSQL refuse the whole batch.
    monkeypatch.setattr("ingest.writer.clean_text", lambda text: text)
    topic = native_message(prefix, {})[0]
    poison = f'{{"time": "{now_iso()}", "readings": {{"no\\u0000x": 1}}}}'.encode()
    good = [native_message(prefix, {"no2": n}, when=now_iso(-n)) for n in range(1, 6)]
    publish(ingest_settings, [*good[:2], (topic, poison), *good[2:]])
    wait_until(lambda: count(ingest_settings, "SELECT count(*) FROM quarantine") == 1)
    wait_until(lambda: len(stored(ingest_settings)) == 5, what="the five good readings")
    [(reason, payload)] = query(ingest_settings, "SELECT reason, payload FROM quarantine")
    assert reason == reasons.INTERNAL_ERROR
    assert bytes(payload) == poison


def test_a_bad_message_delivered_twice_is_quarantined_once(
    ingester: Ingester, ingest_settings: Settings, prefix: str
) -> None:
    bad = native_message(prefix, {"co2": 400, "no2": 3})
    publish(ingest_settings, [bad])
    wait_until(lambda: count(ingest_settings, "SELECT count(*) FROM quarantine") == 1)
    publish(ingest_settings, [bad])
    wait_until(lambda: ingester.stats.value("lamplighter_ingest_readings_duplicate_total") == 1)
    assert count(ingest_settings, "SELECT count(*) FROM quarantine") == 1


@pytest.mark.parametrize(
    "broken_part",
    [
        "ingest.writer.Writer.prepare",
        # Raising on paho's network thread ends it; pytest reports the exception as a warning.
        pytest.param(
            "ingest.sources.Source._on_publishes",
            marks=pytest.mark.filterwarnings(
                "ignore::pytest.PytestUnhandledThreadExceptionWarning"
            ),
        ),
    ],
)
def test_the_ingester_exits_non_zero_when_a_thread_it_needs_dies(
    broken_part: str, ingest_settings: Settings, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object, messages: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(broken_part, broken)
    running = Ingester(ingest_settings)

    def publish_once_subscribed() -> None:
        wait_until(lambda: all(s.subscribed.is_set() for s in running.sources.values()))
        publish(ingest_settings, [native_message(prefix, {"no2": 1})])

    publisher = threading.Thread(target=publish_once_subscribed, daemon=True)
    publisher.start()
    # Crash-only: the process ends (and its supervisor starts a new one, whose session gets the
    # unacknowledged message again) rather than stay up ingesting nothing.
    assert running.run() == 1
    publisher.join(10)
    assert count(ingest_settings, "SELECT count(*) FROM readings") == 0


def writer_of_its_own(settings: Settings, acked: list[Message]) -> Writer:
    """A writer, not started, with a register cache of its own loaded from the database."""
    with db.connect(settings) as conn:
        cache = RegisterCache(devices_from_rows(queries.list_enforced_devices(conn)))
    return Writer(
        settings=settings,
        backlog=Backlog(10),
        cache=cache,
        formats={"native": "native"},
        ack=acked.extend,
        stats=IngestStats(lambda: 0),
        stopping=threading.Event(),
    )


def test_a_batch_checked_before_the_register_changed_is_checked_again_before_it_is_stored(
    ingest_settings: Settings, prefix: str
) -> None:
    # As when a device is decommissioned while its batch waits (a database outage, a slow COPY).
    acked: list[Message] = []
    writer = writer_of_its_own(ingest_settings, acked)
    topic, payload = native_message(prefix, {"no2": 12})
    batch = writer.prepare([Message("native", topic, payload, 0, 1, time.time_ns() // 1000)])
    assert len(batch.rows) == 1, "it passes the checks when it is checked"
    device = writer.cache.find([DeviceKey("public_id", "camden-aq-0001")])
    assert device is not None
    writer.cache.update([device.id], [])  # the device leaves the register meanwhile
    try:
        assert writer._store_until_done(batch)
    finally:
        writer._close()
    assert stored(ingest_settings) == []
    assert query(ingest_settings, "SELECT reason FROM quarantine") == [(reasons.UNKNOWN_DEVICE,)]
    assert len(acked) == 1


def test_a_batch_is_checked_once_while_the_register_is_unchanged(
    ingest_settings: Settings, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # However long it waited: checking it again would parse every message twice.
    acked: list[Message] = []
    writer = writer_of_its_own(ingest_settings, acked)
    topic, payload = native_message(prefix, {"no2": 12})
    batch = writer.prepare([Message("native", topic, payload, 0, 1, time.time_ns() // 1000)])
    checked_again: list[list[Message]] = []
    monkeypatch.setattr(writer, "prepare", checked_again.append)
    time.sleep(1.5)
    try:
        assert writer._store_until_done(batch)
    finally:
        writer._close()
    assert checked_again == []
    assert len(stored(ingest_settings)) == 1
    assert len(acked) == 1
