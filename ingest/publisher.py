"""Publishing at QoS 1 through paho-mqtt, for the simulator and the tests.

The client comes from `register.platform.broker`, so it connects the way the ingester does: TLS for
an `mqtts://` URL, the configured credentials and protocol. Connecting waits for the broker's
answer, so a refusal or a failed TLS handshake is a `PublishError` at once, never a silent
fallback. `wait_acked` returns only when the broker has acknowledged every message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from register.platform import broker as mqtt_broker
from register.platform import broker_clients
from register.platform.config import Settings

log = logging.getLogger(__name__)

# paho numbers messages in flight with 65,535 packet ids, and a publish whose id is still in use
# fails: the unacknowledged messages stay well below that (and below an MQTT 5 broker's Receive
# Maximum, which paho does not heed itself).
MAX_UNACKNOWLEDGED = 20_000


class Publication(NamedTuple):
    """One message to publish."""

    topic: str
    payload: bytes


class PublishError(Exception):
    """The broker could not be reached, refused the connection, or refused messages."""


class Publisher:
    """One connection that publishes (topic, payload) messages at QoS 1."""

    def __init__(self, settings: Settings, client_id: str, *, timeout: float = 10.0) -> None:
        # On the embedded broker, as the simulator's account (it may write every source's topics).
        self.broker = mqtt_broker.broker_for(settings, client=broker_clients.SIMULATE)
        self.sent = 0
        self.acked = 0
        self.refused: list[str] = []
        self._changed = threading.Condition()
        self.client = mqtt_broker.new_client(settings, self.broker, client_id)
        # No window in paho: ours below is the only one. paho's own releases queued messages by
        # walking all of them on every PUBACK, which makes a large window crawl.
        self.client.max_inflight_messages_set(0)
        try:
            connack = mqtt_broker.connect(self.client, self.broker, timeout=timeout)
        except OSError as error:
            reason = mqtt_broker.describe(error, self.broker)
            raise PublishError(f"cannot publish to {self.broker.address}: {reason}") from error
        self.window = min(
            MAX_UNACKNOWLEDGED, getattr(connack, "ReceiveMaximum", MAX_UNACKNOWLEDGED)
        )
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = self._on_disconnect
        # paho reconnects by itself and sends again what was not acknowledged.
        self.client.loop_start()

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any
    ) -> None:
        with self._changed:
            self.acked += 1
            if reason.is_failure:  # MQTT 5 only: a broker may refuse a message it acknowledges
                self.refused.append(str(reason))
            self._changed.notify_all()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            log.warning("disconnected from %s: %s; reconnecting", self.broker.address, reason)

    def publish(self, messages: Iterable[Publication]) -> None:
        """Hand the messages to paho, waiting whenever too many are unacknowledged."""
        for topic, payload in messages:
            with self._changed:
                while self.sent - self.acked >= self.window:
                    self._changed.wait(1.0)
                self.sent += 1
            try:
                info = self.client.publish(topic, payload, qos=1)
            except ValueError as error:  # a topic with wildcards, a payload over 256 MiB
                self._not_sent()
                raise PublishError(f"cannot publish to {topic!r}: {error}") from error
            # Without a connection (paho is reconnecting) the message waits in paho's queue.
            if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                self._not_sent()
                raise PublishError(f"paho did not take a message: {mqtt.error_string(info.rc)}")

    def _not_sent(self) -> None:
        with self._changed:
            self.sent -= 1

    def wait_acked(self, timeout: float = 60.0) -> bool:
        """Wait until the broker has acknowledged every message; False on timeout.

        Raises PublishError when the broker acknowledged a message with a refusal.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.acked < self.sent:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            if self.refused:
                raise PublishError(
                    f"{self.broker.address} refused {len(self.refused)} of {self.sent} messages: "
                    f"{self.refused[0]}"
                )
            return True

    def close(self) -> None:
        mqtt_broker.close(self.client)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
