"""A paho-mqtt client that reads the socket in large chunks and hands over every PUBLISH of a
chunk at once, and that acknowledges many messages in one write.

paho reads each packet with a select() and three recv() calls (the first byte, the length, the
rest), then builds an `MQTTMessage` with its MQTT 5 `Properties` and looks up a callback. At
tens of thousands of messages a second that was half the ingester's time (the README's
benchmark section has the profile). This client keeps everything else of paho: connecting,
TLS, keepalive, reconnecting, subscribing and every packet other than PUBLISH, which it passes
to paho's own handlers as paho would have read it. It changes two things:

- `_packet_read` reads up to `READ_SIZE` bytes at a time and cuts every whole packet out of
  them. Each PUBLISH becomes a plain `(topic, payload, packet id)` tuple, and all of a chunk's
  go to `on_publishes` in one call, in the order they arrived. The publishes read before any
  other packet are handed over before paho handles it, so a DISCONNECT never overtakes them.
- `ack_many` sends the PUBACKs of many messages as one write, where `ack` queues one packet,
  wakes the network thread and makes one send() per message.

The ingester asks for no topic aliases (the broker may then send none) and subscribes at QoS 1,
so a QoS 2 PUBLISH never arrives; if one did, it is refused as a protocol error (the connection
drops and the broker keeps the message), since paho would acknowledge it before it is stored.
The properties of a PUBLISH are skipped: nothing in the ingester reads them.

It overrides paho's internal `_packet_read` and uses `_packet_queue`, `_packet_handle` and
`_in_packet`, which is why pyproject.toml pins paho-mqtt to the minor versions it was tested
with; `tests/ingest/test_chunked_client.py` runs it against a real broker.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket

log = logging.getLogger(__name__)

# What one recv() asks for: large enough to hold hundreds of small messages.
READ_SIZE = 256 * 1024

PUBLISH = 0x30
PUBACK = 0x40
# A PUBACK with no reason code (success) as one big-endian 32-bit number: 0x40, 2, packet id.
PUBACK_WORD = 0x40020000

# A PUBLISH as the client hands it over: the topic's bytes, the payload and the packet id (0
# for QoS 0).
Publish = tuple[bytes, bytes, int]
OnPublishes = Callable[[list[Publish]], None]


class ChunkedClient(mqtt.Client):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_publishes: OnPublishes = lambda publishes: None
        self._v5 = self._protocol == MQTTProtocolVersion.MQTTv5
        # Bytes read but not yet a whole packet, kept as parts until there are enough of them,
        # so that a large packet arriving over many reads is joined once.
        self._parts: list[bytes] = []
        self._have = 0
        self._need = 2
        self._parts_of: object = None  # the socket the parts came from

    def ack_many(self, mids: list[int]) -> None:
        """Acknowledge these QoS 1 messages in one write (the caller checks the connection)."""
        if mids:
            packet = struct.pack(f"!{len(mids)}I", *[PUBACK_WORD | mid for mid in mids])
            self._packet_queue(PUBACK, packet, 0, 0)

    def _packet_read(self) -> MQTTErrorCode:
        if self._sock is not self._parts_of:
            # A new connection: nothing read on the last one belongs to it.
            self._parts, self._have, self._need = [], 0, 2
            self._parts_of = self._sock
        try:
            data = self._sock_recv(READ_SIZE)
        except BlockingIOError:
            return MQTTErrorCode.MQTT_ERR_AGAIN
        except OSError as error:  # TimeoutError and ConnectionError among them
            log.debug("failed to receive on socket: %s", error)
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        if not data:
            return MQTTErrorCode.MQTT_ERR_CONN_LOST
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        self._parts.append(data)
        self._have += len(data)
        if self._have < self._need:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        chunk = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        used, need, rc = self._handle_chunk(chunk)
        rest = chunk[used:]
        self._parts, self._have, self._need = ([rest] if rest else []), len(rest), need
        return rc

    def _handle_chunk(self, chunk: bytes) -> tuple[int, int, MQTTErrorCode]:
        """Handle every whole packet at the start of `chunk`: how many bytes they took, how many
        the rest needs at least before it is worth reading again, and paho's result code."""
        publishes: list[Publish] = []
        end = len(chunk)
        pos = 0
        need = 2
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        while True:
            header = _fixed_header(chunk, pos, end)
            if header is None:  # not even the whole length yet: any more bytes may complete it
                need = end - pos + 1
                break
            command, body, length = header
            if command & 0xF6 == QOS_2_PUBLISH:
                # Subscribed at QoS 1, the broker may not send QoS 2. paho would send PUBREC,
                # after which the broker forgets the message: refuse it, and reconnect.
                log.warning("the broker sent a QoS 2 message to a QoS 1 subscription")
                rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
                break
            if length < 0:
                log.debug("received a malformed length (command 0x%02x)", command)
                rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
                break
            if end - body < length:  # the rest of the packet is still to come
                need = body + length - pos
                break
            if command & 0xF6 in QOS_0_OR_1_PUBLISH:
                publish = self._publish(chunk, command, body, body + length)
                if publish is None:
                    log.debug("received a malformed PUBLISH (command 0x%02x)", command)
                    rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
                    break
                publishes.append(publish)
                pos = body + length
                continue
            pos = body + length
            # Any other packet: the publishes read before it are handed over first.
            if publishes:
                self.on_publishes(publishes)
                publishes = []
            rc = self._paho_handles(command, chunk[body:pos])
            if rc or self._sock is None:
                break
        if publishes:
            self.on_publishes(publishes)
        return pos, need, rc

    def _publish(self, chunk: bytes, command: int, body: int, end: int) -> Publish | None:
        """A QoS 0 or 1 PUBLISH as (topic, payload, packet id); None if it is malformed."""
        start = body + 2
        if start > end:
            return None
        topic_end = start + ((chunk[body] << 8) | chunk[body + 1])
        start = topic_end
        mid = 0
        if command & 0x02:
            start += 2
            if start > end:
                return None
            mid = (chunk[topic_end] << 8) | chunk[topic_end + 1]
        if self._v5:
            properties = _variable_integer(chunk, start, end)
            if properties is None or properties[0] < 0:
                return None
            size, start = properties
            start += size
        if start > end:
            return None
        return chunk[body + 2 : topic_end], chunk[start:end], mid

    def _paho_handles(self, command: int, body: bytes) -> MQTTErrorCode:
        """Any packet but a QoS 0 or 1 PUBLISH: paho's own handler, given it as paho reads it."""
        self._in_packet = _in_packet(command, body)
        try:
            return self._packet_handle()
        except MalformedPacket as error:
            log.debug("received a malformed packet: %s", error)
            return MQTTErrorCode.MQTT_ERR_PROTOCOL
        finally:
            self._in_packet = _in_packet(0, b"")


# The first byte of a PUBLISH by QoS, DUP and RETAIN bits masked off (& 0xF6).
QOS_0_OR_1_PUBLISH = (PUBLISH, PUBLISH | 0x02)
QOS_2_PUBLISH = PUBLISH | 0x04


def _variable_integer(data: bytes, at: int, end: int) -> tuple[int, int] | None:
    """MQTT's variable byte integer at `at`: its value and where it ends; None when `data` ends
    (at `end`) before it does. A value longer than four bytes gives -1."""
    value, shift = 0, 0
    while at < end:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7
        if shift == 28:
            return -1, at
    return None


def _fixed_header(data: bytes, at: int, end: int) -> tuple[int, int, int] | None:
    """The packet at `at`: its first byte, where its body starts, and the body's length (-1 if
    the length is malformed); None when the header is not all there yet."""
    if end - at < 2:
        return None
    length = _variable_integer(data, at + 1, end)
    if length is None:
        return None
    return data[at], length[1], length[0]


def _in_packet(command: int, body: bytes) -> Any:
    """paho's record of the packet being read, as it is once the packet is whole."""
    return {
        "command": command,
        "have_remaining": 1 if command else 0,
        "remaining_count": [],
        "remaining_mult": 1,
        "remaining_length": len(body),
        "packet": bytearray(body),
        "to_process": 0,
        "pos": 0,
    }
