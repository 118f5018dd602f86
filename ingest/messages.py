"""The values that flow through the ingester: a received message, what a parser read from it,
and why something was refused.

A `Message` is all the MQTT callback builds, so it is kept small and frozen. Parsing happens
later, in the writer thread, a whole batch at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message as received, before any parsing."""

    source: str
    topic: str
    payload: bytes
    # The broker's packet id, needed to acknowledge the message once it is committed.
    mid: int
    # Which connection of the source delivered it: an ack is only valid on that connection.
    connection: int
    received_us: int


class Rejected(Exception):
    """A whole message cannot be used; it goes to quarantine with this reason code."""

    def __init__(self, reason: str, text: str, device_id: int | None = None) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text
        self.device_id = device_id


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """How a payload names its device: register keys to try in order, and the topic's claims."""

    # (kind, value) pairs, kind being "public_id", "dev_eui" or "ttn_id".
    keys: tuple[tuple[str, str], ...]
    organisation: str | None = None


@dataclass(slots=True)
class RawReading:
    """One value as the payload gave it, not yet checked against the register."""

    key: str
    value: Any
    unit: str | None
    # Microseconds since the epoch; None means "when it was received".
    time_us: int | None


@dataclass(slots=True)
class Parsed:
    """What a parser read from one message."""

    device: DeviceRef
    readings: list[RawReading]
    # Parts of the message that could not be read, while the rest could: (reason, key, text).
    problems: list[tuple[str, str, str]] = field(default_factory=list)
