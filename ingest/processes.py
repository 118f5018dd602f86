"""`lamplighter ingest --processes N`: N ingesters in one shared-subscription group, supervised.

Each is a `lamplighter ingest` child with a client id of its own (the prefix and its number)
and a metrics port of its own (the base port and the following ones), and the broker gives each
message of the group's topics to one of them. A child that exits is started again (with a
growing pause); SIGTERM or Ctrl-C stops them all, each finishing and acknowledging its batch.
Every message is still stored once: an ingester acknowledges only what it committed, and what
one of them took but did not commit comes back to the group.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from register.platform.config import Settings
from register.stack.supervisor import Supervisor

SHARED_GROUP_ENV = "LAMPLIGHTER_MQTT_SHARED_GROUP"


def group_of(settings: Settings, client_id: str) -> str:
    """The shared-subscription group: the configured one, or one named after the client ids."""
    return settings.mqtt.shared_group or client_id


def children(count: int, client_id: str, metrics_port: int) -> list[tuple[str, list[str]]]:
    """(name, `lamplighter` arguments) of each of the `count` ingesters."""
    return [
        (
            f"ingest-{number}",
            [
                "ingest",
                "--processes",
                "1",
                "--client-id",
                f"{client_id}-{number}",
                "--metrics-port",
                str(metrics_port + number - 1 if metrics_port else 0),
            ],
        )
        for number in range(1, count + 1)
    ]


def run(
    settings: Settings,
    count: int,
    *,
    client_id: str,
    metrics_port: int,
    config_file: Path | None,
    on_ready: Callable[[str], None],
) -> int:
    """Run `count` ingesters until SIGTERM or Ctrl-C; `on_ready(group)` once they are started."""
    group = group_of(settings, client_id)
    # The children read the same settings, with the group given to all of them.
    os.environ[SHARED_GROUP_ENV] = group
    supervisor = Supervisor(children(count, client_id, metrics_port), config_file)
    supervisor.run(on_ready=lambda: on_ready(group))
    return 0
