"""The simulator: what it publishes is what the register declares, in every format it can."""

from __future__ import annotations

import dataclasses

from ingest.cli import simulate_cmd
from ingest.service import Ingester
from ingest.settings import SourceSettings
from ingest.simulate import Simulator, routes_for
from register.platform.config import Settings
from tests.conftest import run_cli
from tests.ingest.conftest import count, query, wait_until
from tests.ingest.samples import DEVICES


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
    assert simulate_cmd.process(settings) is not None
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
