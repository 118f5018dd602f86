"""The values that flow through the ingester: a received message, what a parser read from it,
what is stored, and why something was refused.

A `Message` is all the network thread builds, so it is kept small and frozen. Parsing happens
later, in the writer's checker thread, a whole batch at a time. The records made per message are
`NamedTuple`s, as cheap to make as a named record can be; a reading on its way to COPY is a plain
tuple (`StagedReading`, below, says why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


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


class DeviceKey(NamedTuple):
    """One way a payload names a device; the register cache finds devices by these."""

    kind: str  # "public_id", "dev_eui" or "ttn_id"
    value: str


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """How a payload names its device: register keys to try in order, and the topic's claims."""

    keys: tuple[DeviceKey, ...]
    organisation: str | None = None


@dataclass(slots=True)
class RawReading:
    """One value as the payload gave it, not yet checked against the register."""

    key: str
    value: Any
    unit: str | None
    # Microseconds since the epoch; None means "when it was received".
    time_us: int | None


class Problem(NamedTuple):
    """A part of a message that could not be read, while the rest could."""

    reason: str  # a code from `ingest.reasons`
    key: str  # the metric key (or the record) it concerns
    text: str


@dataclass(slots=True)
class Parsed:
    """What a parser read from one message."""

    device: DeviceRef
    readings: list[RawReading]
    problems: list[Problem] = field(default_factory=list)


# A reading that passed the checks, as it is copied into `readings`: a plain tuple of the time
# in microseconds since 1970, the device id, the metric id and the value. Not a NamedTuple,
# because one is made per reading: a plain tuple of numbers costs half as much to make and is not
# tracked by the garbage collector. `ingest.checks` makes them and reads their fields;
# `ingest.queries` packs them for COPY.
StagedReading = tuple[int, int, int, float]


class Rejection(NamedTuple):
    """Why a message, or some of its readings, go to quarantine."""

    reason: str  # a code from `ingest.reasons`
    text: str
    device_id: int | None


class QuarantineRecord(NamedTuple):
    """A row of `quarantine`: what was refused, why, and a bounded prefix of the payload.

    The fields are the quarantine table's columns, in order.
    """

    received_at: datetime
    source: str
    topic: str
    payload: bytes  # at most ingest.quarantine_payload_bytes of it
    payload_size: int
    reason: str
    message: str  # the plain-English explanation
    device_id: int | None
    fingerprint: bytes  # the same for a message delivered again
