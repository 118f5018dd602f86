"""Keeping a broker's files true to the register: write them from the database at start, again
at every `broker_credentials_changed` notification (and every `REWRITE_EVERY` seconds, in case
one was missed), and have the broker reload them when they changed.

One writer serves one broker's files; any process or web worker that changes a credential
notifies it through PostgreSQL, so a change reaches the broker within a second or two. A lost
database connection is retried with a growing pause; the files stay as they were meanwhile.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from register.credentials import broker_files
from register.credentials.broker_files import Layout
from register.platform import db
from register.platform.config import Settings
from register.queries import credentials as queries

log = logging.getLogger(__name__)

CHANNEL = "broker_credentials_changed"
REWRITE_EVERY = 60.0
LONGEST_PAUSE = 30.0
# Longest wait for a notification before the loop looks at its clock and a pending reload.
WAIT = 1.0
# After a notification, how long to gather others of the same burst into one write.
BURST = 0.05


@dataclass(frozen=True)
class Target:
    """Where a broker reads its files, and how it is told to read them again (`reload`
    answers whether it could tell it)."""

    layout: Layout
    reload: Callable[[], bool]
    group: int | None = None


def reload_by_signal(pid_file: Path) -> Callable[[], bool]:
    """Tell the Mosquitto whose pid is in `pid_file` to reload (SIGHUP, as `systemctl reload`);
    only a process that is Mosquitto, never one that took over a stale pid."""

    def reload() -> bool:
        try:
            pid = int(pid_file.read_text(encoding="ascii").strip())
            if "mosquitto" not in Path(f"/proc/{pid}/comm").read_text(encoding="utf-8"):
                log.warning("%s names process %d, which is not Mosquitto", pid_file, pid)
                return False
            os.kill(pid, signal.SIGHUP)
        except (OSError, ValueError) as error:
            log.warning("could not tell the broker to reload (%s): %s", pid_file, error)
            return False
        return True

    return reload


def reload_by_command(command: Sequence[str]) -> Callable[[], bool]:
    """Tell the broker to reload by running a command (`systemctl reload mosquitto`)."""

    def reload() -> bool:
        try:
            result = subprocess.run(
                list(command), check=False, capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            log.warning("could not run %s to reload the broker: %s", command[0], error)
            return False
        if result.returncode != 0:
            log.warning(
                "%s exited with %d: %s", " ".join(command), result.returncode, result.stderr.strip()
            )
        return result.returncode == 0

    return reload


def write(conn: psycopg.Connection[Any], target: Target) -> bool:
    """The files from the register now (`conn` in autocommit); True when any changed. The
    caller has the broker reload them."""
    return broker_files.write_from_register(conn, target.layout, group=target.group)


def follow(
    settings: Settings,
    target: Target,
    stopping: threading.Event,
    on_write: Callable[[bool], None] | None = None,
) -> None:
    """Write the files, then follow every change until `stopping` is set. `on_write` hears of
    each write (True when the files changed), for tests and counters."""
    pause = 0.5
    while not stopping.is_set():
        try:
            with db.connect(settings, autocommit=True, **db.KEEPALIVES) as conn:
                queries.listen_for_changes(conn, CHANNEL)
                pause = 0.5
                _follow(conn, target, stopping, on_write)
        except (db.DatabaseError, psycopg.Error) as error:
            log.warning("cannot follow credential changes (%s); retrying in %.0f s", error, pause)
            stopping.wait(pause)
            pause = min(pause * 2, LONGEST_PAUSE)


def _follow(
    conn: psycopg.Connection[Any],
    target: Target,
    stopping: threading.Event,
    on_write: Callable[[bool], None] | None,
) -> None:
    due = 0.0
    pending = True  # the first write, from the database as it is
    unreloaded = False  # files changed that the broker has not been told to read yet
    while not stopping.is_set():
        if pending or time.monotonic() >= due:
            changed = write(conn, target)
            unreloaded = unreloaded or changed
            if on_write is not None:
                on_write(changed)
            due = time.monotonic() + REWRITE_EVERY
        if unreloaded:
            # Until the broker has been told, a revoked login still works there: try again at
            # every turn of the loop.
            unreloaded = not target.reload()
            if not unreloaded:
                log.info("broker files written and reloaded")
        # Wake at the first notification, then take the rest of its burst: one write for all.
        pending = bool(list(conn.notifies(timeout=WAIT, stop_after=1)))
        if pending:
            list(conn.notifies(timeout=BURST))
