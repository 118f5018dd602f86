"""Run Lamplighter's long-running processes as children, restart them if they die, stop them all.

`lamplighter up` uses it. Each process is a `lamplighter` subcommand (ingest, web …) whose
module in the command line's table has a `process(settings)` function.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from register.platform.cli import command_modules
from register.platform.config import Settings

log = logging.getLogger(__name__)

RESTART_BACKOFF_MAX = 30.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = field(default=0.0)


def declared_processes(settings: Settings) -> list[tuple[str, list[str]]]:
    """The processes the commands declare for these settings, as (name, lamplighter arguments)."""
    found = []
    for module in command_modules():
        declare = getattr(module, "process", None)
        arguments = declare(settings) if declare is not None else None
        if arguments is not None:
            found.append((arguments[0], list(arguments)))
    return found


class Supervisor:
    """Start children, restart any that exit (with backoff), and stop them all on a signal."""

    def __init__(
        self,
        processes: Sequence[tuple[str, list[str]]],
        config_file: Path | None,
        command: Sequence[str] = (sys.executable, "-m", "register.platform.cli"),
    ) -> None:
        prefix = list(command)
        if config_file is not None:
            prefix += ["--config", str(config_file)]
        self.children = [Child(name, prefix + argv) for name, argv in processes]
        self.stopping = threading.Event()

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        self.stopping.set()

    def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Supervise until SIGINT or SIGTERM, then stop every child.

        `on_ready` runs once the signal handlers are in place, so a signal sent by someone who
        saw its output is always handled.
        """
        previous = {s: signal.signal(s, self.request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            if on_ready is not None:
                on_ready()
            while not self.stopping.is_set():
                for child in self.children:
                    self._tend(child)
                self.stopping.wait(0.5)
        finally:
            self.stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _tend(self, child: Child) -> None:
        now = time.monotonic()
        if child.process is not None:
            code = child.process.poll()
            if code is None:
                return
            ran_for = now - child.started_at
            # A child that ran for a while had a real failure; one that dies at once backs off.
            child.restarts = 0 if ran_for > 60 else child.restarts + 1
            delay = min(RESTART_BACKOFF_MAX, 2.0**child.restarts)
            log.error("%s exited with code %s; restarting in %.0f s", child.name, code, delay)
            child.process = None
            child.next_start = now + delay
        if now >= child.next_start:
            log.info("starting %s", child.name)
            # A session of its own: Ctrl-C in a terminal reaches only the supervisor, which then
            # stops each child with SIGTERM, rather than every process getting SIGINT at once
            # (gunicorn's workers, for one, do not exit cleanly on that).
            child.process = subprocess.Popen(child.argv, start_new_session=True)
            child.started_at = now

    def stop_all(self, timeout: float = 20.0) -> None:
        running = [
            (child.name, child.process)
            for child in self.children
            if child.process is not None and child.process.poll() is None
        ]
        for _, process in running:
            process.terminate()
        deadline = time.monotonic() + timeout
        for name, process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s; killing it", name, timeout)
                process.kill()
                process.wait()
