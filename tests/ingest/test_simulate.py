"""The simulator: what it publishes is what the register declares, in every format it can."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

from ingest.cli import simulate_cmd
from ingest.service import Ingester
from ingest.settings import SourceSettings
from ingest.simulate import Simulator, routes_for
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
