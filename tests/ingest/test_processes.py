"""`lamplighter ingest --processes N`: the children it starts (the storing is tested end to end
in test_delivery.py)."""

from __future__ import annotations

import dataclasses

from ingest import processes
from register.platform.config import Settings


def test_each_child_has_its_client_id_and_a_metrics_port_clear_of_the_jobs() -> None:
    settings = Settings()
    assert settings.jobs.metrics_port == settings.ingest.metrics_port + 1
    ports = processes.metrics_ports(settings, 3, settings.ingest.metrics_port)
    assert ports == [9108, 9110, 9111]
    assert processes.children("lamplighter-ingest", ports) == [
        ("ingest-1", ["ingest", "--processes", "1", "--client-id", "lamplighter-ingest-1",
                      "--metrics-port", "9108"]),
        ("ingest-2", ["ingest", "--processes", "1", "--client-id", "lamplighter-ingest-2",
                      "--metrics-port", "9110"]),
        ("ingest-3", ["ingest", "--processes", "1", "--client-id", "lamplighter-ingest-3",
                      "--metrics-port", "9111"]),
    ]  # fmt: skip
    assert processes.metrics_ports(settings, 2, 0) == [0, 0]


def test_the_group_is_the_configured_one_else_named_after_the_client_ids() -> None:
    settings = Settings()
    assert processes.group_of(settings, "lamplighter-ingest") == "lamplighter-ingest"
    grouped = dataclasses.replace(
        settings, mqtt=dataclasses.replace(settings.mqtt, shared_group="borough")
    )
    assert processes.group_of(grouped, "lamplighter-ingest") == "borough"
