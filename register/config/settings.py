"""The settings table: every setting's name, type, default, line of help and value check.

Each setting is declared once, as a dataclass field made by `setting()`. `config.example.toml`,
`lamplighter config show` and the environment variable names are all derived from this table.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "LAMPLIGHTER_"
CONFIG_ENV = "LAMPLIGHTER_CONFIG"
# Environment names that share the prefix but are not settings.
RESERVED_ENV = (CONFIG_ENV, "LAMPLIGHTER_INSTALL_")

PAYLOAD_FORMATS = ("native", "senml", "ttn", "chirpstack")
MQTT_PROTOCOLS = ("5", "3.1.1")


class ConfigError(Exception):
    """A setting is unknown, has the wrong type, or has a value that cannot work."""


Check = Callable[[Any], str | None]


def setting(default: Any, help: str, *, secret: bool = False, check: Check | None = None) -> Any:
    """Declare one setting: its default, one line of help, and an optional value check."""
    if isinstance(default, list):
        return dataclasses.field(
            default_factory=lambda: list(default),
            metadata={"help": help, "secret": secret, "check": check},
        )
    return dataclasses.field(
        default=default, metadata={"help": help, "secret": secret, "check": check}
    )


def _port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "must be a port number from 1 to 65535"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _at_least_one(value: int) -> str | None:
    return None if value >= 1 else "must be 1 or more"


def _url_check(schemes: tuple[str, ...], *, allow_empty: bool) -> Check:
    def check(value: str) -> str | None:
        if value == "" and allow_empty:
            return None
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - parsing the port is what raises for a bad one
        except ValueError as error:
            return f"is not a valid URL ({error})"
        if parts.scheme not in schemes:
            return f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
        if not parts.hostname:
            return "must be a URL that names a host"
        return None

    return check


def _one_of(choices: tuple[str, ...]) -> Check:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of: {', '.join(choices)}"

    return check


@dataclasses.dataclass(frozen=True)
class DatabaseSettings:
    url: str = setting(
        "",
        "PostgreSQL URL. Empty means the embedded server that `lamplighter services` runs.",
        check=_url_check(("postgresql", "postgres"), allow_empty=True),
    )
    pool_min: int = setting(1, "Connections each process keeps open.", check=_at_least_one)
    pool_max: int = setting(10, "Most connections each process opens.", check=_at_least_one)
    connect_timeout: int = setting(10, "Seconds to wait for a connection.", check=_at_least_one)


@dataclasses.dataclass(frozen=True)
class SourceSettings:
    """One broker connection: where to connect, what to subscribe to, and how to parse it."""

    name: str = setting("", "A short name for logs and metrics, unique among sources.")
    format: str = setting("native", "Payload format.", check=_one_of(PAYLOAD_FORMATS))
    topics: list[str] = setting([], "Topic filters. Empty means the format's default topic.")
    url: str = setting(
        "",
        "Broker URL for this source. Empty means mqtt.url.",
        check=_url_check(("mqtt", "mqtts"), allow_empty=True),
    )
    username: str = setting("", "Broker user name. Empty means mqtt.username.")
    password: str = setting("", "Broker password. Empty means mqtt.password.", secret=True)


DEFAULT_TOPICS = {
    "native": ["lamplighter/+/+/up"],
    "senml": ["lamplighter/+/+/senml"],
    "ttn": ["v3/+/devices/+/up"],
    "chirpstack": ["application/+/device/+/event/up"],
}


def _default_sources() -> list[SourceSettings]:
    return [SourceSettings(name=f, format=f, topics=list(t)) for f, t in DEFAULT_TOPICS.items()]


@dataclasses.dataclass(frozen=True)
class MqttSettings:
    url: str = setting(
        "",
        "Default broker URL (mqtt:// or mqtts://). Empty means the embedded Mosquitto.",
        check=_url_check(("mqtt", "mqtts"), allow_empty=True),
    )
    username: str = setting("", "Default broker user name.")
    password: str = setting("", "Default broker password.", secret=True)
    protocol: str = setting("5", "MQTT protocol version.", check=_one_of(MQTT_PROTOCOLS))
    client_id: str = setting("lamplighter-ingest", "Client id prefix; the source name is added.")
    shared_group: str = setting(
        "", "Shared-subscription group, so N ingesters split the load. Empty means none."
    )
    keepalive: int = setting(60, "Seconds between keep-alive pings.", check=_at_least_one)
    session_expiry: int = setting(
        86400, "Seconds the broker keeps a disconnected session's messages.", check=_at_least_one
    )
    tls_ca_file: str = setting("", "CA bundle for mqtts:// brokers. Empty means the system's.")
    sources: list[SourceSettings] = dataclasses.field(
        default_factory=_default_sources,
        metadata={"help": "Broker connections ([[mqtt.sources]] tables).", "secret": False},
    )


def _at_most_receive_maximum(value: int) -> str | None:
    # MQTT caps the messages a broker may have unacknowledged with one client at 65,535.
    return None if 1 <= value <= 65535 else "must be from 1 to 65535"


def _port_or_off(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "must be a port number, or 0 for off"


def _not_negative(value: float) -> str | None:
    return None if value >= 0 else "must be 0 or more"


@dataclasses.dataclass(frozen=True)
class IngestSettings:
    batch_size: int = setting(
        2000, "Most messages written in one transaction.", check=_at_least_one
    )
    batch_wait: float = setting(
        0.05, "Seconds a batch waits to fill before it is written anyway.", check=_positive
    )
    queue_limit: int = setting(
        20000,
        "Most messages held in memory unacknowledged; beyond it the broker holds them.",
        check=_at_most_receive_maximum,
    )
    max_payload_bytes: int = setting(
        65536, "Larger payloads are quarantined as payload_too_large.", check=_at_least_one
    )
    quarantine_payload_bytes: int = setting(
        2048, "How much of a rejected payload quarantine keeps.", check=_not_negative
    )
    future_skew: int = setting(
        300, "Seconds a reading's time may lie ahead of the ingester's clock.", check=_not_negative
    )
    last_seen_interval: float = setting(
        15.0, "Seconds between writes of the devices' last-seen times.", check=_positive
    )
    register_refresh: float = setting(
        600.0,
        "Seconds between full reloads of the register (changes arrive by NOTIFY at once).",
        check=_positive,
    )
    retry_max_backoff: float = setting(
        30.0, "Longest wait between retries while the database is down.", check=_positive
    )
    log_interval: float = setting(
        60.0, "Seconds between counter summaries in the log.", check=_positive
    )
    metrics_host: str = setting("127.0.0.1", "Address of the Prometheus metrics endpoint.")
    metrics_port: int = setting(
        9108, "Port of the Prometheus metrics endpoint; 0 turns it off.", check=_port_or_off
    )
    simulate_devices: int = setting(
        200,
        "Devices `lamplighter up` simulates on the embedded broker; 0 turns the simulator off.",
        check=_not_negative,
    )
    simulate_rate: float = setting(
        20.0, "Messages per second the simulator publishes, over all its devices.", check=_positive
    )


@dataclasses.dataclass(frozen=True)
class WebSettings:
    host: str = setting("127.0.0.1", "Address the web server listens on.")
    port: int = setting(8080, "Port the web server listens on.", check=_port)
    workers: int = setting(2, "Web server worker processes.", check=_at_least_one)
    public_url: str = setting(
        "",
        "The site's public address, for QR codes on signs. Empty: the address a request came to.",
        check=_url_check(("https", "http"), allow_empty=True),
    )
    tile_url: str = setting(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "Map tile URL template; without a network the map shows its markers on a blank ground.",
    )
    tile_attribution: str = setting(
        "© OpenStreetMap contributors", "Credit shown on the map for its tiles."
    )
    statement_timeout: float = setting(
        10.0,
        "Seconds a web request's database statement may run before it is cancelled (a 503).",
        check=_positive,
    )
    secret_key: str = setting(
        "",
        "Key that signs sessions and CSRF tokens. Empty: generated once under services.data_dir.",
        secret=True,
    )


@dataclasses.dataclass(frozen=True)
class JobsSettings:
    retention_interval: int = setting(
        900, "Seconds between runs of the retention job.", check=_at_least_one
    )
    silence_interval: int = setting(
        300, "Seconds between checks for devices that have gone silent.", check=_at_least_one
    )
    quarantine_purge_interval: int = setting(
        3600, "Seconds between purges of old quarantine records.", check=_at_least_one
    )
    quarantine_keep_days: int = setting(
        7,
        "Days a quarantine record is kept (payloads may hold personal data).",
        check=_at_least_one,
    )
    compliance_interval: int = setting(
        900, "Seconds between refreshes of the compliance figures.", check=_at_least_one
    )


@dataclasses.dataclass(frozen=True)
class ServicesSettings:
    host: str = setting("127.0.0.1", "Address the embedded PostgreSQL and Mosquitto listen on.")
    pg_port: int = setting(5433, "Port of the embedded PostgreSQL.", check=_port)
    mqtt_port: int = setting(1883, "Port of the embedded Mosquitto.", check=_port)
    data_dir: str = setting(
        "var", "Where the embedded services keep their data; relative to the config file."
    )
    user: str = setting(
        "lamplighter", "Unprivileged system user the services run as when started by root."
    )
    pg_bin_dir: str = setting("", "PostgreSQL's bin directory. Empty: the newest installed.")
    mosquitto_bin: str = setting("", "Path of the mosquitto program. Empty: found on PATH.")
    start_timeout: float = setting(
        60.0, "Seconds to wait for a service to accept connections.", check=_positive
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = dataclasses.field(default_factory=DatabaseSettings)
    mqtt: MqttSettings = dataclasses.field(default_factory=MqttSettings)
    ingest: IngestSettings = dataclasses.field(default_factory=IngestSettings)
    web: WebSettings = dataclasses.field(default_factory=WebSettings)
    jobs: JobsSettings = dataclasses.field(default_factory=JobsSettings)
    services: ServicesSettings = dataclasses.field(default_factory=ServicesSettings)
    # Not settings: where the values came from, for `config show` and path resolution.
    base_dir: Path = dataclasses.field(default_factory=Path.cwd, compare=False)
    origins: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def data_dir(self) -> Path:
        """The embedded services' data directory, as an absolute path."""
        return (self.base_dir / self.services.data_dir).resolve()

    @property
    def database_url(self) -> str:
        """The database URL in force: the configured one, or the embedded server's."""
        if self.database.url:
            return self.database.url
        s = self.services
        passfile = self.data_dir / "postgres" / "pgpass"
        return f"postgresql://lamplighter@{s.host}:{s.pg_port}/lamplighter?passfile={passfile}"

    @property
    def mqtt_url(self) -> str:
        """The default broker URL in force: the configured one, or the embedded broker's."""
        return self.mqtt.url or f"mqtt://{self.services.host}:{self.services.mqtt_port}"


SECTIONS: dict[str, type] = {
    f.name: typing.get_type_hints(Settings)[f.name]
    for f in dataclasses.fields(Settings)
    if f.name not in ("base_dir", "origins")
}


def setting_fields(section_cls: type) -> list[tuple[dataclasses.Field[Any], Any]]:
    """The fields of a settings section with their resolved types."""
    hints = typing.get_type_hints(section_cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(section_cls)]


def env_name(section: str, key: str) -> str:
    """The environment variable that overrides a setting."""
    return f"{ENV_PREFIX}{section.upper()}_{key.upper()}"
