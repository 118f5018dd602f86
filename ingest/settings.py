"""The ingester's settings: `[mqtt]` (brokers, with one `[[mqtt.sources]]` table per broker
connection and payload format) and `[ingest]` (batches, limits, metrics, the simulator)."""

from __future__ import annotations

import dataclasses

from register.platform.config.fields import (
    at_least_one,
    not_negative,
    one_of,
    port_or_off,
    positive,
    setting,
    url_check,
)

PAYLOAD_FORMATS = ("native", "senml", "ttn", "chirpstack")
MQTT_PROTOCOLS = ("5", "3.1.1")
DEFAULT_TOPICS = {
    "native": ["lamplighter/+/+/up"],
    "senml": ["lamplighter/+/+/senml"],
    "ttn": ["v3/+/devices/+/up"],
    "chirpstack": ["application/+/device/+/event/up"],
}


@dataclasses.dataclass(frozen=True)
class SourceSettings:
    """One broker connection: where to connect, what to subscribe to, and how to parse it."""

    name: str = setting("", "A short name for logs and metrics, unique among sources.")
    format: str = setting("native", "Payload format.", check=one_of(PAYLOAD_FORMATS))
    topics: list[str] = setting([], "Topic filters. Empty means the format's default topic.")
    url: str = setting(
        "",
        "Broker URL for this source. Empty means mqtt.url.",
        check=url_check(("mqtt", "mqtts"), allow_empty=True),
    )
    username: str = setting("", "Broker user name. Empty means mqtt.username.")
    password: str = setting("", "Broker password. Empty means mqtt.password.", secret=True)

    def __post_init__(self) -> None:
        if not self.topics and self.format in DEFAULT_TOPICS:
            # Frozen, so set through object: a source without topics takes its format's.
            object.__setattr__(self, "topics", list(DEFAULT_TOPICS[self.format]))


def _default_sources() -> list[SourceSettings]:
    return [SourceSettings(name=f, format=f) for f in DEFAULT_TOPICS]


def _named_uniquely(sources: list[SourceSettings]) -> str | None:
    names = [s.name for s in sources]
    for position, name in enumerate(names):
        if not name:
            return f"'mqtt.sources[{position}].name' is required"
        if names.count(name) > 1:
            return f"two sources are named '{name}'; names must be unique"
    return None


@dataclasses.dataclass(frozen=True)
class MqttSettings:
    url: str = setting(
        "",
        "Default broker URL (mqtt:// or mqtts://). Empty means the embedded Mosquitto.",
        check=url_check(("mqtt", "mqtts"), allow_empty=True),
    )
    username: str = setting("", "Default broker user name.")
    password: str = setting("", "Default broker password.", secret=True)
    protocol: str = setting("5", "MQTT protocol version.", check=one_of(MQTT_PROTOCOLS))
    client_id: str = setting("lamplighter-ingest", "Client id prefix; the source name is added.")
    shared_group: str = setting(
        "", "Shared-subscription group, so N ingesters split the load. Empty means none."
    )
    keepalive: int = setting(60, "Seconds between keep-alive pings.", check=at_least_one)
    session_expiry: int = setting(
        86400, "Seconds the broker keeps a disconnected session's messages.", check=at_least_one
    )
    tls_ca_file: str = setting("", "CA bundle for mqtts:// brokers. Empty means the system's.")
    sources: list[SourceSettings] = dataclasses.field(
        default_factory=_default_sources,
        metadata={
            "help": "Broker connections ([[mqtt.sources]] tables).",
            "secret": False,
            "check": _named_uniquely,
        },
    )


def _at_most_receive_maximum(value: int) -> str | None:
    # MQTT caps the messages a broker may have unacknowledged with one client at 65,535.
    return None if 1 <= value <= 65535 else "must be from 1 to 65535"


@dataclasses.dataclass(frozen=True)
class IngestSettings:
    batch_size: int = setting(2000, "Most messages written in one transaction.", check=at_least_one)
    batch_wait: float = setting(
        0.05, "Seconds a batch waits to fill before it is written anyway.", check=positive
    )
    queue_limit: int = setting(
        20000,
        "Most messages held in memory unacknowledged; beyond it the broker holds them.",
        check=_at_most_receive_maximum,
    )
    max_payload_bytes: int = setting(
        65536, "Larger payloads are quarantined as payload_too_large.", check=at_least_one
    )
    quarantine_payload_bytes: int = setting(
        2048, "How much of a rejected payload quarantine keeps.", check=not_negative
    )
    future_skew: int = setting(
        300, "Seconds a reading's time may lie ahead of the ingester's clock.", check=not_negative
    )
    last_seen_interval: float = setting(
        15.0, "Seconds between writes of the devices' last-seen times.", check=positive
    )
    register_refresh: float = setting(
        600.0,
        "Seconds between full reloads of the register (changes arrive by NOTIFY at once).",
        check=positive,
    )
    retry_max_backoff: float = setting(
        30.0, "Longest wait between retries while the database is down.", check=positive
    )
    log_interval: float = setting(
        60.0, "Seconds between counter summaries in the log.", check=positive
    )
    metrics_host: str = setting("127.0.0.1", "Address of the Prometheus metrics endpoint.")
    metrics_port: int = setting(
        9108, "Port of the Prometheus metrics endpoint; 0 turns it off.", check=port_or_off
    )
    processes: int = setting(
        1,
        "Ingester processes `lamplighter ingest` runs, in one shared-subscription group "
        "(mqtt.shared_group, or the client id prefix when that is empty), each with its own "
        "client id and metrics port (metrics_port and the next ones, passing over the jobs').",
        check=at_least_one,
    )
    simulate_devices: int = setting(
        200,
        "Devices without a declared reporting interval that `lamplighter up` simulates on the "
        "embedded broker (each one that declares an interval reports at it); 0 turns the "
        "simulator off.",
        check=not_negative,
    )
    simulate_rate: float = setting(
        20.0, "Messages per second the simulator publishes, over all its devices.", check=positive
    )
