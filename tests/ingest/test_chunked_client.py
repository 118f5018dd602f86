"""The ingester's MQTT client: PUBLISH packets cut out of large reads, every other packet left to
paho, and many acknowledgements in one write.

The first tests feed it bytes over a real socket pair, cut at awkward places, as a broker might
send them; the last ones run the ingester through the session's real Mosquitto.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import socket
import time
from collections.abc import Iterator

import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from ingest.chunked_client import READ_SIZE, ChunkedClient, Publish
from ingest.service import Ingester
from register.platform.config import Settings
from tests.benchmarks.ingest.loadgen import variable_byte_integer
from tests.conftest import wait_until
from tests.ingest.conftest import count, publish, query

PINGRESP = b"\xd0\x00"
# MQTT 5 DISCONNECT from the broker, reason 0x8B "server shutting down".
SERVER_DISCONNECT = b"\xe0\x01\x8b"


def publish_packet(
    topic: bytes, payload: bytes, mid: int = 0, *, v5: bool = True, properties: bytes = b""
) -> bytes:
    """A PUBLISH as a broker sends it: QoS 1 when it has a packet id, else QoS 0."""
    body = len(topic).to_bytes(2, "big") + topic
    if mid:
        body += mid.to_bytes(2, "big")
    if v5:
        body += variable_byte_integer(len(properties)) + properties
    body += payload
    return bytes([0x32 if mid else 0x30]) + variable_byte_integer(len(body)) + body


class Wire:
    """A ChunkedClient whose socket is one end of a real socket pair; the test is the broker."""

    def __init__(self, v5: bool = True) -> None:
        protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
        self.client = ChunkedClient(CallbackAPIVersion.VERSION2, protocol=protocol)
        self.client_end, self.broker_end = socket.socketpair()
        self.client_end.setblocking(False)
        self.broker_end.setblocking(False)
        self.client._sock = self.client_end
        self.handed_over: list[list[Publish]] = []
        self.events: list[str] = []
        self.client.on_publishes = self._on_publishes
        self.client.on_disconnect = lambda *args: self.events.append("disconnect")

    def _on_publishes(self, publishes: list[Publish]) -> None:
        self.handed_over.append(publishes)
        self.events.append(f"{len(publishes)} publishes")

    @property
    def publishes(self) -> list[Publish]:
        return [p for handed in self.handed_over for p in handed]

    def send(self, data: bytes) -> MQTTErrorCode:
        """Send bytes as the broker, letting the client read whenever the socket is full and
        then until it is empty; the client's last result."""
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        while True:
            with contextlib.suppress(BlockingIOError):
                data = data[self.broker_end.send(data) :] if data else data
            rc = MQTTErrorCode.MQTT_ERR_SUCCESS
            while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self.client._sock is not None:
                rc = self.client._packet_read()
            if not data or self.client._sock is None:
                return rc

    def close(self) -> None:
        self.client_end.close()
        self.broker_end.close()


@pytest.fixture
def wire() -> Iterator[Wire]:
    wire = Wire()
    yield wire
    wire.close()


def test_publishes_cut_at_every_kind_of_boundary_arrive_whole_and_in_order(wire: Wire) -> None:
    rng = random.Random(7)  # noqa: S311 - test data, not a secret
    sent = []
    stream = b""
    for n in range(400):
        topic = f"lamplighter/camden/aq-{n:04d}/up".encode()
        payload = rng.randbytes(rng.choice([0, 1, 50, 127, 128, 300, 16_400]))
        mid = 0 if n % 5 == 0 else n % 65535 + 1
        # Some with properties (a message expiry, a content type), which are skipped.
        properties = b"\x02\x00\x00\x00\x3c\x03\x00\x04json" if n % 3 == 0 else b""
        stream += publish_packet(topic, payload, mid, properties=properties)
        sent.append((topic, payload, mid))
    position = 0
    while position < len(stream):
        piece = rng.choice([1, 2, 3, 7, 100, 4096, 70_000])
        assert wire.send(stream[position : position + piece]) == MQTTErrorCode.MQTT_ERR_AGAIN
        position += piece
    assert wire.publishes == sent
    assert len(wire.handed_over) < len(sent), "publishes read together go over together"


def test_a_packet_larger_than_one_read_is_joined_from_its_parts(wire: Wire) -> None:
    payload = random.Random(3).randbytes(READ_SIZE * 3 + 17)  # noqa: S311 - test data
    packet = publish_packet(b"big/one", payload, 9)
    wire.send(packet[: READ_SIZE // 2])
    assert wire.publishes == []
    wire.send(packet[READ_SIZE // 2 :] + publish_packet(b"small/one", b"{}", 10))
    assert wire.publishes == [(b"big/one", payload, 9), (b"small/one", b"{}", 10)]


def test_other_packets_go_to_paho_after_the_publishes_read_before_them(wire: Wire) -> None:
    wire.client._ping_t = 12345.0  # paho's "waiting for a PINGRESP since"
    first = publish_packet(b"a/b", b"1", 1) + publish_packet(b"a/c", b"2", 2)
    wire.send(first + PINGRESP + publish_packet(b"a/d", b"3", 3) + SERVER_DISCONNECT)
    assert wire.client._ping_t == 0, "paho handled the PINGRESP"
    # The broker's DISCONNECT is handled after the publish before it is handed over, so that
    # an ack can never be sent for it on the next connection.
    assert wire.events == ["2 publishes", "1 publishes", "disconnect"]
    assert [p[2] for p in wire.publishes] == [1, 2, 3]
    assert wire.client._sock is None, "paho closed the connection"


@pytest.mark.parametrize(
    ("packet", "what"),
    [
        (b"\x32\x05\x00\x09ab", "a topic longer than the packet"),
        (b"\x32\x04\x00\x01a\x00", "a packet id cut short"),
        (b"\x32\x06\x00\x01a\x00\x07\x80", "properties whose length runs past the packet"),
        (b"\x30\xff\xff\xff\xff\x01", "a remaining length of five bytes"),
        (b"\x32\x0c\x00\x01a\x00\x07\x80\x80\x80\x80xyz", "a properties length of five bytes"),
        (b"\x34\x06\x00\x01a\x00\x07\x00", "QoS 2, which a QoS 1 subscription never gets"),
    ],
)
def test_a_malformed_packet_is_a_protocol_error_and_nothing_of_it_is_handed_over(
    wire: Wire, packet: bytes, what: str
) -> None:
    rc = wire.send(publish_packet(b"ok/1", b"{}", 1) + packet + publish_packet(b"ok/2", b"{}", 2))
    assert rc == MQTTErrorCode.MQTT_ERR_PROTOCOL, what
    assert wire.publishes == [(b"ok/1", b"{}", 1)], what
    with pytest.raises(BlockingIOError):
        wire.broker_end.recv(100)  # nothing acknowledged: no PUBREC for the QoS 2 message


def test_mqtt_3_1_1_publishes_have_no_properties_to_skip() -> None:
    wire = Wire(v5=False)
    try:
        packets = publish_packet(b"x/1", b"\x00\x05abc", 4, v5=False)
        packets += publish_packet(b"x/2", b"qos0", v5=False)
        wire.send(packets)
        assert wire.publishes == [(b"x/1", b"\x00\x05abc", 4), (b"x/2", b"qos0", 0)]
    finally:
        wire.close()


def test_ack_many_writes_every_puback_in_order_and_nothing_for_none(wire: Wire) -> None:
    # Without a network thread, paho writes a queued packet at once.
    wire.client.ack_many([])
    wire.client.ack_many([1, 258, 65535])
    assert (
        wire.broker_end.recv(100) == b"\x40\x02\x00\x01" + b"\x40\x02\x01\x02" + b"\x40\x02\xff\xff"
    )


def test_an_ingester_on_mqtt_3_1_1_stores_what_it_receives(ingest_settings: Settings) -> None:
    settings = dataclasses.replace(
        ingest_settings, mqtt=dataclasses.replace(ingest_settings.mqtt, protocol="3.1.1")
    )
    ingester = Ingester(settings)
    ingester.start()
    try:
        wait_until(lambda: all(s.subscribed.is_set() for s in ingester.sources.values()))
        topic = ingester.sources["native"].topics[0].replace("+/+", "camden/camden-aq-0001")
        now = int(time.time())
        messages = [
            (topic, b'{"time": %d, "readings": {"no2": %d}}' % (now - n, n)) for n in range(50)
        ]
        publish(settings, messages)
        wait_until(lambda: count(settings, "SELECT count(*) FROM readings") == 50)
    finally:
        ingester.stop()
    assert ingester.sources["native"].acked == 50


def test_a_message_larger_than_one_read_is_stored_whole(ingest_settings: Settings) -> None:
    settings = dataclasses.replace(
        ingest_settings,
        ingest=dataclasses.replace(ingest_settings.ingest, max_payload_bytes=4 * READ_SIZE),
    )
    ingester = Ingester(settings)
    ingester.start()
    try:
        wait_until(lambda: all(s.subscribed.is_set() for s in ingester.sources.values()))
        topic = ingester.sources["native"].topics[0].replace("+/+", "camden/camden-aq-0001")
        # JSON allows any amount of white space: the message is valid and 2.5 reads long.
        padding = b" " * (READ_SIZE * 5 // 2)
        now = int(time.time())
        payload = b'{"time": %d,' % (now - 1) + padding + b'"readings": {"no2": 41.5}}'
        after = b'{"time": %d, "readings": {"no2": 42.5}}' % now
        publish(settings, [(topic, payload), (topic, after)])
        wait_until(lambda: count(settings, "SELECT count(*) FROM readings") == 2)
    finally:
        ingester.stop()
    assert query(settings, "SELECT value FROM readings ORDER BY time") == [(41.5,), (42.5,)]
