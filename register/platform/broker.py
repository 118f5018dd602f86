"""paho-mqtt clients built from the settings, the same way for every process that uses the broker.

The ingester, the simulator and `/healthz` all take the broker's address, the TLS choice
(`mqtts://`, checked against `mqtt.tls_ca_file` or the system's CAs), the credentials (a source's
own, else `mqtt.username`/`mqtt.password`, else those in the URL, else, on the embedded broker,
the account Lamplighter keeps for that client) and the protocol (5 or 3.1.1) from here, so none
of them can connect in plain text or without credentials by mistake.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from register.platform import broker_clients
from register.platform.config import Settings


class BrokerRefused(ConnectionError):
    """The broker answered, and refused the connection; the message is its reason."""


class _SocketClosedOnFailedHandshake(ssl.SSLSocket):
    """paho drops, without closing it, a socket whose TLS handshake failed: close it here."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


@dataclass(frozen=True)
class Broker:
    """Where a client connects, and as whom."""

    url: SplitResult
    username: str
    password: str
    # On the embedded broker, the random part Lamplighter's client adds to its client id.
    client_id_part: str = ""

    @property
    def host(self) -> str:
        return self.url.hostname or "localhost"

    @property
    def tls(self) -> bool:
        return self.url.scheme == "mqtts"

    @property
    def port(self) -> int:
        return self.url.port or (8883 if self.tls else 1883)

    @property
    def address(self) -> str:
        """The URL without credentials, for messages."""
        return f"{self.url.scheme}://{self.host}:{self.port}"


def broker_for(
    settings: Settings,
    *,
    url: str = "",
    username: str = "",
    password: str = "",
    client: str = broker_clients.INGEST,
) -> Broker:
    """The broker at `url` (or the default one), with the credentials that apply to it: those
    given (a source's own), else `mqtt.username`/`mqtt.password`, else those in the URL, else,
    on the embedded broker, the account of `client` (the ingester's, or the simulator's)."""
    parts = urlsplit(url or settings.mqtt_url)
    username = username or settings.mqtt.username or unquote(parts.username or "")
    password = password or settings.mqtt.password or unquote(parts.password or "")
    if not username and not url and not settings.mqtt.url:
        kept = broker_clients.password(settings, client)
        if kept is not None:
            part = broker_clients.client_id_part(settings, client)
            return Broker(parts, client, kept, part)
    return Broker(parts, username, password)


def new_client(
    settings: Settings,
    broker: Broker,
    client_id: str,
    *,
    persistent_session: bool = False,
    manual_ack: bool = False,
    client_class: type[mqtt.Client] = mqtt.Client,
) -> mqtt.Client:
    """A client for `broker`, in the configured protocol, with its credentials and TLS set.

    For MQTT 5 a persistent session is asked for at connect time (clean_start and a session
    expiry), so `persistent_session` only changes MQTT 3.1.1 clients. `client_class` may be a
    subclass of paho's client (the ingester's reads in chunks).
    """
    v5 = settings.mqtt.protocol == "5"
    client = client_class(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=None if v5 else not persistent_session,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        manual_ack=manual_ack,
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password or None)
    if broker.tls:
        context = ssl.create_default_context(cafile=settings.mqtt.tls_ca_file or None)
        context.sslsocket_class = _SocketClosedOnFailedHandshake
        client.tls_set_context(context)
    return client


def connect(
    client: mqtt.Client, broker: Broker, *, timeout: float, keepalive: int = 60
) -> Properties:
    """Connect and wait for the broker's CONNACK, within `timeout` seconds in all; its properties.

    Raises BrokerRefused when the broker refuses (bad credentials, not authorised), TimeoutError
    when it does not answer in time, ssl.SSLError when TLS fails and OSError when it cannot be
    reached. Runs the client's network loop itself: call `loop_start()` afterwards if needed.
    """
    deadline = time.monotonic() + timeout
    answers: list[tuple[ReasonCode, Properties]] = []

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        answers.append((reason, props))

    client.on_connect = on_connect
    # Bounds the TCP connect and the TLS handshake alike.
    client.connect_timeout = timeout
    try:
        client.connect(broker.host, broker.port, keepalive=keepalive)
        while not answers:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer from the broker within {timeout:g} s")
            result = client.loop(min(remaining, 0.1))
            if result != MQTTErrorCode.MQTT_ERR_SUCCESS and not answers:
                raise ConnectionError(f"the broker closed the connection ({result.name})")
    except BaseException:
        close(client)
        raise
    finally:
        client.on_connect = None
        # `loop()` made a socket pair to wake the network loop; `loop_start()` makes its own
        # and would leave this one open.
        client._reset_sockets(sockpair_only=True)
    reason, properties = answers[0]
    if reason.is_failure:
        close(client)
        raise BrokerRefused(str(reason).lower())
    return properties


def describe(error: BaseException, broker: Broker) -> str:
    """What went wrong in `connect`, in a phrase for a person."""
    if isinstance(error, BrokerRefused):
        return f"refused by the broker: {error}"
    if isinstance(error, TimeoutError):
        return str(error) if error.args else "no answer from the broker in time"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}"
    if (
        broker.tls
        and isinstance(error, ConnectionError)
        and not isinstance(error, ConnectionRefusedError)
    ):
        # A broker that speaks plain MQTT on the port hangs up on the TLS handshake.
        return f"TLS failed: the broker closed the connection ({error})"
    if isinstance(error, OSError):
        return str(error.strerror or error)
    return str(error)


def close(client: mqtt.Client) -> None:
    """Disconnect, stop the network thread if there is one, and close every socket."""
    client.disconnect()
    client.loop_stop()
    # paho closes the socket pair that wakes its network thread only when the client is
    # garbage-collected, which may be never for a client in a reference cycle.
    client._reset_sockets()
