"""The simulator: what it publishes is what the register declares, in every format it can."""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
from pathlib import Path
from urllib.parse import urlsplit

from ingest.cli import simulate_cmd
from ingest.service import Ingester
from ingest.settings import SourceSettings
from ingest.simulate import Simulator, Timetable, routes_for
from register import devices
from register.demo.seed import SILENT
from register.platform import db
from register.platform.config import Settings
from tests.benchmarks.ingest.harness import write_config
from tests.conftest import PasswordBroker, run_cli
from tests.ingest.conftest import (
    count,
    ingest_settings_for,
    query,
    received_by,
    topics_for,
    wait_until,
)
from tests.ingest.samples import DEVICES
from tests.register.factories import ADMIN


def test_lorawan_devices_speak_lorawan_formats_and_the_others_native_or_senml() -> None:
    sources = [SourceSettings(name=f, format=f) for f in ("native", "senml", "ttn", "chirpstack")]
    routes = routes_for(DEVICES, sources, count=10)
    formats = {route.device.public_id: route.source.format for route in routes}
    # Only the active devices; a LoRaWAN device with no TTN id can only speak ChirpStack.
    assert formats == {
        "camden-aq-0001": "senml",
        "camden-lora-0001": "chirpstack",
        "camden-lora-0002": "chirpstack",
    }
    only_native = routes_for(DEVICES, sources[:1], count=10)
    assert [r.device.public_id for r in only_native] == ["camden-aq-0001"]


def test_every_device_with_an_interval_is_simulated_and_only_count_of_the_others() -> None:
    sources = [SourceSettings(name=f, format=f) for f in ("native", "senml", "ttn", "chirpstack")]
    devices = [*DEVICES, *(dataclasses.replace(DEVICES[0], id=n, public_id=f"x-{n}") for n in
                           range(10, 20))]  # fmt: skip
    intervals = {1: 60.0, 5: 300.0, 2: 60.0}  # 2 is planned: never simulated
    routes = routes_for(devices, sources, count=3, intervals=intervals)
    assert [(r.device.public_id, r.interval) for r in routes if r.interval] == [
        ("camden-aq-0001", 60.0), ("camden-lora-0001", 300.0)
    ]  # fmt: skip
    assert len([r for r in routes if r.interval is None]) == 3
    left_silent = routes_for(devices, sources, 3, intervals, silent=frozenset({"camden-aq-0001"}))
    assert "camden-aq-0001" not in {r.device.public_id for r in left_silent}


def test_a_timetable_publishes_each_device_at_its_interval() -> None:
    sources = [SourceSettings(name="native", format="native")]
    fast, slow = DEVICES[0], dataclasses.replace(DEVICES[0], id=7, public_id="camden-aq-0007")
    routes = routes_for([fast, slow], sources, 0, {1: 1.0, 7: 4.0})
    timetable = Timetable(random.Random(1))  # noqa: S311 - a repeatable timetable, not secrets
    timetable.load(routes, 1000.0)
    published: list[tuple[float, str]] = []
    for tick in range(121):  # 12 seconds, ten ticks a second
        now = 1000.0 + tick / 10
        published.extend((now, r.device.public_id) for r in timetable.due(now, None))
    times = {
        public_id: [at for at, who in published if who == public_id]
        for public_id in ("camden-aq-0001", "camden-aq-0007")
    }
    assert len(times["camden-aq-0001"]) in (11, 12) and len(times["camden-aq-0007"]) == 3
    # The first message comes within the interval; then one each interval, to the tick.
    assert times["camden-aq-0001"][0] < 1001.0 and times["camden-aq-0007"][0] < 1004.0
    gaps = [b - a for a, b in itertools.pairwise(times["camden-aq-0001"])]
    assert all(0.9 < gap < 1.15 for gap in gaps), gaps
    # Reloaded (as every minute), a device keeps its place in the timetable.
    before = dict(timetable.next_at)
    timetable.load(routes, 1012.0)
    assert timetable.next_at == before
    assert timetable.messages_per_second == 1.25


def test_simulated_devices_report_at_their_declared_intervals_except_the_silent_ones(
    ingester: Ingester, ingest_settings: Settings
) -> None:
    with db.connect(ingest_settings) as conn, conn.transaction():
        entry = devices.get_device(conn, "camden-aq-0001")
        assert entry is not None
        devices.update_device(
            conn, "camden-aq-0001", {**entry, "reporting_interval": "PT1S"}, ADMIN
        )

    def messages_by_device(silent: frozenset[str], seconds: float) -> dict[str, int]:
        simulator = Simulator(
            ingest_settings, devices=10, rate=0.5, faults=0.0, seed=4, silent=silent
        )
        timer = threading.Timer(seconds, simulator.stopping.set)
        timer.start()
        sent = simulator.run()
        wait_until(lambda: ingester.stats.total("lamplighter_ingest_messages") >= sent)
        rows = query(
            ingest_settings,
            "SELECT d.public_id, count(DISTINCT r.time) FROM readings r"
            " JOIN devices d ON d.id = r.device_id GROUP BY 1",
        )
        return dict(rows)

    # camden-aq-0001 every second; camden-lora-0001, which declares nothing, at 0.5 a second.
    heard = messages_by_device(frozenset(), 3.5)
    assert 3 <= heard["camden-aq-0001"] <= 4, heard
    assert 1 <= heard["camden-lora-0001"] <= 2, heard
    again = messages_by_device(frozenset({"camden-aq-0001"}), 2.5)
    assert again["camden-aq-0001"] == heard["camden-aq-0001"], again
    assert again["camden-lora-0001"] > heard["camden-lora-0001"], again


def test_simulated_readings_are_all_accepted_by_the_register(
    ingester: Ingester, ingest_settings: Settings
) -> None:
    sent = Simulator(ingest_settings, devices=10, rate=200, faults=0.0, seed=1).run(limit=40)
    assert sent == 40
    wait_until(lambda: ingester.stats.total("lamplighter_ingest_messages") >= 40)
    wait_until(lambda: ingester.stats.value("lamplighter_ingest_batch_messages_sum") >= 40)
    assert count(ingest_settings, "SELECT count(*) FROM quarantine") == 0
    devices_heard = query(ingest_settings, "SELECT DISTINCT device_id FROM readings")
    assert len(devices_heard) == 2
    by_source = {
        source: ingester.stats.value("lamplighter_ingest_messages_total", {"source": source})
        for source in ("native", "senml", "ttn", "chirpstack")
    }
    assert sum(by_source.values()) == 40
    assert sum(1 for n in by_source.values() if n) == 2, by_source


def test_with_faults_the_simulator_sends_what_quarantine_must_catch(
    ingester: Ingester, ingest_settings: Settings
) -> None:
    Simulator(ingest_settings, devices=10, rate=200, faults=1.0, seed=2).run(limit=20)
    # One fault per message, so one quarantine record per message.
    wait_until(lambda: count(ingest_settings, "SELECT count(*) FROM quarantine") == 20)
    reasons = {r for (r,) in query(ingest_settings, "SELECT DISTINCT reason FROM quarantine")}
    assert reasons <= {"undeclared_metric", "unit_mismatch"}
    assert reasons


def test_up_simulates_only_on_the_embedded_broker(settings: Settings) -> None:
    arguments = simulate_cmd.process(settings)
    assert arguments is not None
    # The demo's devices left silent on purpose, so that "not reporting" has something to show.
    named = [arguments[n + 1] for n, option in enumerate(arguments) if option == "--silent"]
    assert named == list(SILENT)
    real_broker = dataclasses.replace(
        settings, mqtt=dataclasses.replace(settings.mqtt, url="mqtt://broker.example:1883")
    )
    assert simulate_cmd.process(real_broker) is None
    switched_off = dataclasses.replace(
        settings, ingest=dataclasses.replace(settings.ingest, simulate_devices=0)
    )
    assert simulate_cmd.process(switched_off) is None


def test_simulate_refuses_impossible_options(stack_config: object) -> None:
    result = run_cli("simulate", "--rate", "0", "--faults", "2")
    assert result.returncode == 2
    assert "--rate must be greater than 0; --faults must be from 0 to 1" in result.stdout


def test_simulate_to_an_mqtts_url_fails_rather_than_publish_in_plain_text(
    ingest_settings: Settings, prefix: str, tmp_path: Path
) -> None:
    # The session's broker speaks plain MQTT only, so the TLS handshake must fail.
    plain = urlsplit(ingest_settings.mqtt_url)
    config_file = write_config(
        tmp_path / "config.toml",
        {
            "database": {"url": ingest_settings.database_url},
            "mqtt": {"url": f"mqtts://{plain.netloc}"},
        },
        [{"name": fmt, "format": fmt, "topics": [t]} for fmt, t in topics_for(prefix).items()],
    )
    result = run_cli(
        "simulate", "--devices", "2", "--rate", "100", "--count", "5", config_path=config_file
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"lamplighter simulate: cannot publish to mqtts://{plain.netloc}: TLS failed" in (
        result.stdout
    ), result.stdout + result.stderr
    assert "published" not in result.stdout


def test_the_simulator_publishes_with_the_configured_credentials(
    register_db: Settings, prefix: str, password_broker: PasswordBroker
) -> None:
    user, password = password_broker.username, password_broker.password
    in_settings = password_broker.settings(register_db, user, password)
    in_url = password_broker.settings(register_db)
    in_url = dataclasses.replace(
        in_url,
        mqtt=dataclasses.replace(
            in_url.mqtt,
            url=f"mqtt://{user.replace('-', '%2D')}:{password.replace(' ', '%20')}"
            f"@127.0.0.1:{password_broker.port}",
        ),
    )
    for n, (case, settings) in enumerate({"mqtt.username": in_settings, "the URL": in_url}.items()):
        case_prefix = f"{prefix}-{n}"
        with received_by(password_broker, f"{case_prefix}/#") as received:
            sent = Simulator(
                ingest_settings_for(settings, case_prefix), devices=10, rate=200, faults=0.0
            ).run(limit=20)
            assert sent == 20, case
            wait_until(lambda: len(received) >= 20, what=f"20 messages, credentials in {case}")
