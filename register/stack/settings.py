"""The embedded services' settings: `[services]`."""

from __future__ import annotations

import dataclasses

from register.platform.config.fields import port, positive, setting


@dataclasses.dataclass(frozen=True)
class ServicesSettings:
    host: str = setting("127.0.0.1", "Address the embedded PostgreSQL and Mosquitto listen on.")
    pg_port: int = setting(5433, "Port of the embedded PostgreSQL.", check=port)
    mqtt_port: int = setting(1883, "Port of the embedded Mosquitto.", check=port)
    data_dir: str = setting(
        "var", "Where the embedded services keep their data; relative to the config file."
    )
    user: str = setting(
        "lamplighter", "Unprivileged system user the services run as when started by root."
    )
    pg_bin_dir: str = setting("", "PostgreSQL's bin directory. Empty: the newest installed.")
    mosquitto_bin: str = setting("", "Path of the mosquitto program. Empty: found on PATH.")
    start_timeout: float = setting(
        60.0, "Seconds to wait for a service to accept connections.", check=positive
    )
