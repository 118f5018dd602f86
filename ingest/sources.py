"""Broker connections: one paho-mqtt client per configured source.

Each client keeps a persistent session (clean start off, a session expiry), subscribes at QoS 1
and acknowledges by hand (`manual_ack`), so that a message is only acknowledged once the writer
has committed it. paho reconnects by itself, with a growing delay. With a shared group set,
the subscriptions are `$share/<group>/<filter>` and N ingesters split the messages.

The client is a `ChunkedClient`: messages reach the backlog a socket read at a time, and the
acknowledgements of a committed batch leave in one write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.backlog import Backlog
from ingest.chunked_client import ChunkedClient, Publish
from ingest.messages import Message
from ingest.settings import DEFAULT_TOPICS, SourceSettings
from register.platform import broker as mqtt_broker
from register.platform.config import Settings

log = logging.getLogger(__name__)

RECONNECT_DELAY_MAX = 30


def subscriptions(source: SourceSettings, shared_group: str) -> list[str]:
    """The topic filters a source subscribes to, in their shared form when a group is set."""
    topics = source.topics or DEFAULT_TOPICS[source.format]
    return [f"$share/{shared_group}/{t}" if shared_group else t for t in topics]


class Source:
    """One broker connection feeding the backlog."""

    def __init__(
        self,
        settings: Settings,
        source: SourceSettings,
        backlog: Backlog,
        *,
        client_id_prefix: str,
        receive_maximum: int,
        count: Callable[[int], None] = lambda received: None,
        clock: ArrivalClock | None = None,
    ) -> None:
        self.settings = settings
        self.name = source.name
        self.backlog = backlog
        self.topics = subscriptions(source, settings.mqtt.shared_group)
        self.source = source
        self.broker = self._broker_now()
        self.v5 = settings.mqtt.protocol == "5"
        self.receive_maximum = receive_maximum
        # Bumped on each connect and disconnect: an ack is only sent on the connection that
        # delivered the message, and none while there is no connection.
        self.connection = 0
        self._ack_lock = threading.Lock()
        self.acked = 0
        self.stale = 0  # committed, but delivered on an earlier connection: not acknowledged
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        # Packet ids of the UNSUBACKs received; see _await_acks_processed.
        self._unsubacked: set[int] = set()
        self._unsuback = threading.Condition()
        # Told how many messages each socket read brought.
        self.count = count
        self.clock = clock or ArrivalClock()
        # On the embedded broker a random part kept with its login, so that no device can
        # guess it and take over the persistent session (register/platform/broker_clients.py).
        secret = f"-{self.broker.client_id_part}" if self.broker.client_id_part else ""
        self.client_id = f"{client_id_prefix}{secret}-{source.name}"
        client = mqtt_broker.new_client(
            settings,
            self.broker,
            self.client_id,
            persistent_session=True,
            manual_ack=True,
            client_class=ChunkedClient,
        )
        self.client = cast(ChunkedClient, client)
        self.client.reconnect_delay_set(1, RECONNECT_DELAY_MAX)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publishes = self._on_publishes
        self.client.on_subscribe = self._on_subscribe
        self.client.on_unsubscribe = self._on_unsubscribe

    def _broker_now(self) -> mqtt_broker.Broker:
        return mqtt_broker.broker_for(
            self.settings,
            url=self.source.url,
            username=self.source.username,
            password=self.source.password,
        )

    def start(self) -> None:
        properties = None
        if self.v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self.settings.mqtt.session_expiry
            # The broker sends at most this many messages before our acks: the first bound on
            # what the ingester holds in memory.
            properties.ReceiveMaximum = self.receive_maximum
        self.client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=self.settings.mqtt.keepalive,
            clean_start=False,
            properties=properties,
        )
        self.client.loop_start()

    def network_thread_alive(self) -> bool:
        """Whether paho's network thread runs; it ends only on `stop`, or on an error in it
        (a bug), which would leave the source connected and reading nothing. (`_thread` is
        paho's; pyproject.toml pins paho for the internals `ChunkedClient` uses, and this.)"""
        thread = self.client._thread
        return thread is not None and thread.is_alive()

    def stop(self) -> None:
        """Make sure the broker has the acks already sent, disconnect, stop the network thread."""
        self._await_acks_processed()
        mqtt_broker.close(self.client)

    def _await_acks_processed(self, timeout: float = 5.0) -> None:
        """A round trip to the broker after the last acknowledgement.

        Closing a socket that still has unread data (the broker keeps sending while we stop)
        makes the kernel reset the connection, and a reset can drop the last PUBACKs before the
        broker reads them: those messages would come back although they are stored. The broker
        handles one client's packets in order, so its answer to an UNSUBSCRIBE (of a filter
        never subscribed, which changes nothing in the session) means it has processed every
        acknowledgement sent before it.
        """
        if not self.connected.is_set():
            return
        # The answer may arrive (on paho's thread) before unsubscribe() returns its packet id,
        # so every answer is recorded, rather than only one whose id is already known.
        _, mid = self.client.unsubscribe(f"lamplighter-stop/{self.client_id}")
        with self._unsuback:
            if not self._unsuback.wait_for(lambda: mid in self._unsubacked, timeout):
                log.warning("%s: the broker did not answer before stopping", self.name)

    def ack(self, messages: list[Message]) -> None:
        """Acknowledge these committed messages of this source, in one write.

        Packet ids are per connection: after a reconnect the broker redelivers the message
        anyway, and the same id may by then name another message.
        """
        with self._ack_lock:
            connection = self.connection
            mids = [m.mid for m in messages if m.mid and m.connection == connection]
            self.client.ack_many(mids)
            self.acked += len(mids)
            self.stale += sum(1 for m in messages if m.mid and m.connection != connection)

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if reason.is_failure:
            log.error("%s: %s refused the connection: %s", self.name, self.broker.address, reason)
            # paho tries again by itself: with the credentials in force by then, in case the
            # login was made again meanwhile (the embedded broker's, at a restart).
            self.broker = self._broker_now()
            if self.broker.username:
                client.username_pw_set(self.broker.username, self.broker.password or None)
            return
        with self._ack_lock:
            self.connection += 1
        if self.v5:
            client.subscribe([(t, SubscribeOptions(qos=1)) for t in self.topics])
        else:
            client.subscribe([(t, 1) for t in self.topics])
        log.info(
            "%s: connected to %s (session %s), subscribed to %s",
            self.name,
            self.broker.host,
            "resumed" if flags.session_present else "new",
            ", ".join(self.topics),
        )
        self.connected.set()

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], props: Any
    ) -> None:
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.error("%s: the broker refused subscriptions: %s", self.name, ", ".join(refused))
        else:
            self.subscribed.set()

    def _on_unsubscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any
    ) -> None:
        with self._unsuback:
            self._unsubacked.add(mid)
            self._unsuback.notify_all()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        with self._ack_lock:
            self.connection += 1
        self.connected.clear()
        self.subscribed.clear()
        if reason.is_failure:
            log.warning(
                "%s: disconnected from %s: %s; reconnecting", self.name, self.broker.host, reason
            )

    def _on_publishes(self, publishes: list[Publish]) -> None:
        """Everything one socket read brought, into the backlog (on paho's network thread)."""
        first_us = self.clock.stamps(len(publishes))
        connection, name = self.connection, self.name
        self.backlog.put(
            [
                Message(name, topic_text(topic), payload, mid, connection, first_us + n)
                for n, (topic, payload, mid) in enumerate(publishes)
            ]
        )
        self.count(len(publishes))


class ArrivalClock:
    """Arrival times in microseconds that never repeat and never go back, for all the sources
    of an ingester. A reading without a device time is stored at its message's arrival time,
    so two messages must never share one: the unique index would keep only the first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_us = 0

    def stamps(self, count: int) -> int:
        """The first of `count` consecutive arrival times, for messages read together."""
        with self._lock:
            first = max(time.time_ns() // 1000, self._last_us + 1)
            self._last_us = first + count - 1
            return first


def topic_text(topic: bytes) -> str:
    """A topic as text. Not every broker checks that topics are UTF-8: one that is not is kept
    readable (the message will be quarantined), rather than stopping the network thread."""
    return topic.decode("utf-8", "replace")
