"""A fast MQTT 3.1.1 QoS 1 publisher in plain TCP, for the ingest benchmark only.

It exists because paho's publisher stalls beyond 65,535 messages in flight and is too slow to
saturate the ingester, so a benchmark using it would measure its own publisher. It has no TLS
and ignores the protocol setting: everything else (the simulator, the tests' `publish`) goes
through paho in `ingest/publisher.py`. The delivery tests (tests/ingest/test_delivery.py)
borrow it because they drive child ingesters at benchmark rates.

It encodes PUBLISH packets itself, writes them in chunks, and keeps a window of unacknowledged
messages below the 65,535 packet ids, reading PUBACKs on a thread of its own. `wait_acked`
returns only when the broker has acknowledged every message, so none is silently dropped.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterable

CONNECT, CONNACK, PUBLISH_QOS1, PUBACK, DISCONNECT = 0x10, 0x20, 0x32, 0x40, 0xE0
MAX_WINDOW = 65000  # below 65,535 packet ids, so an id is never reused while in flight


class PublishError(Exception):
    """The broker refused the connection or closed it."""


def variable_byte_integer(value: int) -> bytes:
    """MQTT's variable byte integer (a remaining length, a properties length)."""
    out = bytearray()
    while True:
        byte, value = value % 128, value // 128
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _text(value: bytes) -> bytes:
    return struct.pack("!H", len(value)) + value


class LoadPublisher:
    """Publish at QoS 1 as fast as the broker takes it, with at most `window` in flight."""

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        *,
        window: int = 20000,
        timeout: float = 30,
        username: str = "",
        password: str = "",
    ) -> None:
        self.window = min(window, MAX_WINDOW)
        self.sent = 0
        self.acked = 0
        self._next_id = 0
        self._changed = threading.Condition()
        self._error: str | None = None
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Protocol level 4 (3.1.1), clean session, no keep-alive; then the credentials, if any.
        flags = 0x02 | (0x80 if username else 0) | (0x40 if username and password else 0)
        body = _text(b"MQTT") + bytes([4, flags]) + struct.pack("!H", 0) + _text(client_id.encode())
        if username:
            body += _text(username.encode())
            if password:
                body += _text(password.encode())
        self.sock.sendall(bytes([CONNECT]) + variable_byte_integer(len(body)) + body)
        answer = self._read_exactly(4)
        if answer[0] != CONNACK or answer[3] != 0:
            raise PublishError(f"the broker refused the connection (code {answer[3]})")
        self.sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_acks, name="loadgen-acks", daemon=True)
        self._reader.start()

    def _read_exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise PublishError("the broker closed the connection")
            data += chunk
        return data

    def _read_acks(self) -> None:
        pending = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                pending += chunk
                # PUBACKs are the only packets a QoS 1 publisher receives: 4 bytes each.
                whole = len(pending) - len(pending) % 4
                count = sum(1 for i in range(0, whole, 4) if pending[i] == PUBACK)
                pending = pending[whole:]
                with self._changed:
                    self.acked += count
                    self._changed.notify_all()
        except OSError:
            pass
        with self._changed:
            if self.acked < self.sent:
                self._error = "the broker closed the connection with messages unacknowledged"
            self._changed.notify_all()

    def publish(self, messages: Iterable[tuple[str, bytes]]) -> None:
        """Send (topic, payload) messages, such as `Publication`s, waiting whenever the window
        is full. Plain pairs cost the generator least: it shares the machine with what it
        measures."""
        batch = list(messages)
        for start in range(0, len(batch), self.window):
            self._publish_within_window(batch[start : start + self.window])

    def _publish_within_window(self, messages: list[tuple[str, bytes]]) -> None:
        packets = []
        for topic, payload in messages:
            self._next_id = self._next_id % 65535 + 1
            topic_bytes = topic.encode()
            length = 2 + len(topic_bytes) + 2 + len(payload)
            packets.append(
                b"".join(
                    (
                        bytes([PUBLISH_QOS1]),
                        variable_byte_integer(length),
                        _text(topic_bytes),
                        struct.pack("!H", self._next_id),
                        payload,
                    )
                )
            )
        with self._changed:
            while self.sent - self.acked + len(packets) > self.window and not self._error:
                self._changed.wait(1.0)
            if self._error:
                raise PublishError(self._error)
            self.sent += len(packets)
        self.sock.sendall(b"".join(packets))

    def wait_acked(self, timeout: float = 60.0) -> bool:
        """Wait until the broker has acknowledged every message sent; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.acked < self.sent and not self._error:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            if self._error:
                raise PublishError(self._error)
            return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(bytes([DISCONNECT, 0]))
        self.sock.close()
        self._reader.join(5)

    def __enter__(self) -> LoadPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
