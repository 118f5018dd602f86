"""`lamplighter bench credentials`: issuing device credentials, and how long one change takes to
reach a broker that holds them all.

On the local services, in a database of its own (`lamplighter_bench`, recreated each run):
  1. `--devices` (5,000) devices, registered in one import;
  2. one credential issued for each, one transaction each, as the command line, the console
     and the API issue them;
  3. a Mosquitto of its own (a free loopback port, files in a temporary directory) and the
     writer following the register, as `lamplighter broker files --follow` does; the time the
     writer takes to write the files for every credential;
  4. `--changes` (20) times: a new credential for one device, committed, then the time until the
     broker takes the new password (publish-to-login, polled every 20 ms); and a revoke, then
     the time until the broker drops that device's connected client.
The figures are printed as one table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from register.audit import Actor
from register.credentials import broker_files, device_credentials, writer
from register.credentials.broker_files import Layout
from register.platform import db
from register.platform.config import Settings
from register.stack.mosquitto import find_mosquitto
from register.stack.runtime import RunAs, accepts_connections, free_port, wait_until
from tests.benchmarks.common import Figures, fresh_bench_database, local_services, quantile
from tests.benchmarks.ingest.bench_register import add_bench_devices

TARGET_SECONDS = 5.0
POLL = 0.02


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=5_000, help="devices, one credential each")
    parser.add_argument("--changes", type=int, default=20, help="changes timed to the broker")


@dataclass(frozen=True)
class BrokerUnderTest:
    """The benchmark's Mosquitto: its files, the group that reads them, its port and pid."""

    layout: Layout
    group: int | None
    port: int
    pid: int


@contextmanager
def broker_of_its_own(
    settings: Settings, layout: Layout, group: int | None
) -> Iterator[BrokerUnderTest]:
    """A Mosquitto reading `layout`'s files, as the services' user."""
    run_as = RunAs.for_current_process(settings.services.user)
    port = free_port()
    conf = layout.directory / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\npassword_file {layout.passwords}\n"
        f"acl_file {layout.acl}\ninclude_dir {layout.conf_dir}\npersistence false\n"
        "log_dest none\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [find_mosquitto(settings.services.mosquitto_bin), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=run_as.uid if run_as.name else None,
        group=run_as.gid if run_as.name else None,
        extra_groups=[] if run_as.name else None,
    )
    try:
        if not wait_until(lambda: accepts_connections("127.0.0.1", port), 30):
            raise RuntimeError("the benchmark's Mosquitto did not start")
        yield BrokerUnderTest(layout, group, port, process.pid)
    finally:
        process.terminate()
        process.wait(15)


def logs_in(port: int, username: str, password: str) -> bool:
    """Whether the broker takes this login now."""
    answers: list[bool] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}")
    client.username_pw_set(username, password)
    client.on_connect = lambda _c, _u, _f, reason, _p: answers.append(not reason.is_failure)
    try:
        client.connect("127.0.0.1", port)
        deadline = time.monotonic() + 2
        while not answers and time.monotonic() < deadline:
            client.loop(0.01)
    except OSError:
        return False
    finally:
        client.disconnect()
        client._reset_sockets()
    return bool(answers and answers[0])


def connected(port: int, username: str, password: str) -> tuple[mqtt.Client, threading.Event]:
    """A client logged in, and the event its disconnection sets."""
    dropped = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}")
    client.username_pw_set(username, password)
    client.on_disconnect = lambda *args: dropped.set()
    client.reconnect_delay_set(60, 60)  # a drop stays a drop while it is timed
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client, dropped


def until(condition: Callable[[], bool], started: float, limit: float = 30.0) -> float | None:
    """Seconds from `started` until `condition()` holds (polled); None if not within `limit`."""
    while time.monotonic() - started < limit:
        if condition():
            return time.monotonic() - started
        time.sleep(POLL)
    return None


def run(settings: Settings, args: argparse.Namespace) -> int:
    figures = Figures()
    with local_services(settings):
        bench = fresh_bench_database(settings)
        actor = Actor("lamplighter bench")
        with db.connect(bench) as conn:
            ids = add_bench_devices(conn, args.devices)
            started = time.perf_counter()
            passwords = {}
            for public_id in ids:
                with conn.transaction():
                    passwords[public_id] = device_credentials.issue(conn, public_id, actor).password
            issuing = time.perf_counter() - started
        figures.add(
            f"issuing {args.devices:,} credentials, a transaction each",
            f"{issuing:.2f} s",
            f"{issuing / args.devices * 1000:.2f} ms each",
        )
        directory = Path(tempfile.mkdtemp(prefix="lamplighter-bench-broker-"))
        directory.chmod(0o755)
        run_as = RunAs.for_current_process(settings.services.user)
        group = run_as.gid if run_as.name else None
        layout = Layout(directory / "access")
        try:
            with db.connect(bench, autocommit=True) as conn:
                started = time.perf_counter()
                files = broker_files.files_from_register(conn)
                broker_files.replace_files(layout, files, group=group)
                writing = time.perf_counter() - started
            figures.add(
                "writing the files for every credential",
                f"{writing * 1000:.0f} ms",
                f"password file {len(files.passwords.encode()) / 1024:.0f} KiB",
            )
            with broker_of_its_own(settings, layout, group) as broker:
                changes_reach_the_broker(bench, broker, ids, args, figures)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    print()  # noqa: T201 - the benchmark's report
    print(f"{args.devices:,} device credentials; a change must reach the broker within 5 s")  # noqa: T201
    print(figures.table())  # noqa: T201
    return 0


def changes_reach_the_broker(
    bench: Settings,
    broker: BrokerUnderTest,
    ids: list[str],
    args: argparse.Namespace,
    figures: Figures,
) -> None:
    """Time new credentials and revokes from commit to the broker, with the writer following."""

    def reload() -> bool:
        os.kill(broker.pid, signal.SIGHUP)
        return True

    target = writer.Target(broker.layout, reload, broker.group)
    port = broker.port
    stopping = threading.Event()
    writes: list[bool] = []
    follower = threading.Thread(target=writer.follow, args=(bench, target, stopping, writes.append))
    follower.start()
    actor = Actor("lamplighter bench")
    to_login: list[float | None] = []
    to_drop: list[float | None] = []
    try:
        if not wait_until(lambda: writes, 30):
            raise RuntimeError("the writer did not write the files")
        step = max(1, len(ids) // args.changes)
        with db.connect(bench) as conn:
            for public_id in ids[::step][: args.changes]:
                with conn.transaction():
                    issued = device_credentials.issue(conn, public_id, actor)
                started = time.monotonic()
                to_login.append(
                    until(lambda: logs_in(port, public_id, issued.password), started)  # noqa: B023
                )
                client, dropped = connected(port, public_id, issued.password)
                time.sleep(0.2)
                with conn.transaction():
                    device_credentials.revoke(conn, public_id, actor)
                started = time.monotonic()
                to_drop.append(until(dropped.is_set, started))
                client.loop_stop()
                client._reset_sockets()
    finally:
        stopping.set()
        follower.join(30)
    for what, timed in (("new credential to login", to_login), ("revoke to drop", to_drop)):
        samples = [seconds for seconds in timed if seconds is not None]
        figure = (
            f"median {quantile(samples, 0.5) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"
            if samples
            else "none arrived"
        )
        figures.add(f"{what}, {len(timed)} changes", figure, f"target {TARGET_SECONDS:.0f} s")
    missed = sum(seconds is None for seconds in to_login + to_drop)
    figures.add("changes the broker had not taken after 30 s", str(missed))
