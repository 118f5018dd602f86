"""A bare paho-mqtt subscriber that only receives: the benchmark's ceiling for one client.

Run as `python -m tests.benchmarks.ingest.subscriber HOST PORT TOPIC COUNT TIMEOUT`. It
subscribes at
QoS 1 (acknowledging each message as paho does by default), prints "ready" once subscribed,
then prints one JSON line: how many messages it received and the wall-clock time of the last.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.subscribeoptions import SubscribeOptions


def main(argv: list[str]) -> int:
    host, port, topic, count, timeout = argv[0], int(argv[1]), argv[2], int(argv[3]), float(argv[4])
    received = 0
    last = 0.0
    done = threading.Event()
    subscribed = threading.Event()

    def on_connect(client: mqtt.Client, *args: Any) -> None:
        client.subscribe([(topic, SubscribeOptions(qos=1))])

    def on_subscribe(*args: Any) -> None:
        subscribed.set()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        nonlocal received, last
        received += 1
        if received >= count:
            last = time.time()
            done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id="lamplighter-bench-bare",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.connect(host, port)
    client.loop_start()
    if not subscribed.wait(30):
        return 1
    print("ready", flush=True)  # noqa: T201 - the benchmark reads this
    done.wait(timeout)
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"received": received, "last": last}), flush=True)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
