"""The embedded default: project-local PostgreSQL (with TimescaleDB) and Mosquitto under var/.

`start`, `stop` and `status` act on both services, PostgreSQL first on the way up and last on
the way down, so nothing that needs the database runs without it.
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from register.platform.config import Settings
from register.stack import broker_access
from register.stack.mosquitto import EmbeddedMosquitto
from register.stack.postgres import EmbeddedPostgres
from register.stack.runtime import RunAs, ServiceError, ServiceStatus

__all__ = [
    "ServiceError",
    "ServiceState",
    "running",
    "services",
    "start",
    "status",
    "stop",
]


@dataclass(frozen=True)
class ServiceState(ServiceStatus):
    """A service's status, with its name and whether this command just started or stopped it."""

    name: str = ""
    changed: bool = False


def services(settings: Settings) -> list[EmbeddedPostgres | EmbeddedMosquitto]:
    """The embedded services in start order."""
    return [EmbeddedPostgres(settings), EmbeddedMosquitto(settings)]


def _state(
    service: EmbeddedPostgres | EmbeddedMosquitto, run_as: RunAs, changed: bool
) -> ServiceState:
    s = service.status(run_as)
    return ServiceState(**dataclasses.asdict(s), name=service.name, changed=changed)


def start(settings: Settings) -> list[ServiceState]:
    """Start every embedded service that is not running; report each one's state."""
    run_as = RunAs.for_current_process(settings.services.user)
    states = []
    for service in services(settings):
        changed = service.start(run_as)
        states.append(_state(service, run_as, changed))
    return states


def stop(settings: Settings, only: Collection[str] | None = None) -> list[ServiceState]:
    """Stop the embedded services that run (all, or those named), in reverse start order."""
    run_as = RunAs.for_current_process(settings.services.user)
    states = []
    for service in reversed(services(settings)):
        changed = service.stop(run_as) if only is None or service.name in only else False
        states.append(_state(service, run_as, changed))
    return list(reversed(states))


def status(settings: Settings) -> list[ServiceState]:
    """Each embedded service: running or not, its pid, address and data directory."""
    run_as = RunAs.for_current_process(settings.services.user)
    return [_state(service, run_as, False) for service in services(settings)]


def open_broker_to_clients(settings: Settings) -> None:
    """Give Lamplighter's clients their accounts on the embedded broker, and have it read its
    access files again (the register may have got its tables since the broker started)."""
    run_as = RunAs.for_current_process(settings.services.user)
    broker = EmbeddedMosquitto(settings)
    broker_access.write(settings, run_as.gid if run_as.name else None, broker.reload)


def _unwind(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def running(
    settings: Settings,
    *,
    start_them: bool = True,
    report: Callable[[ServiceState, str], None] | None = None,
) -> Iterator[None]:
    """Run a block with the embedded services up, when the settings use them, and stop
    afterwards the ones started here (not ones that were already running).

    Meanwhile SIGTERM unwinds like Ctrl-C, so that the services are stopped rather than left
    running; a supervisor inside the block may take SIGTERM over. `report(state, verb)` hears
    of each service started or stopped.
    """
    signal.signal(signal.SIGTERM, _unwind)
    started_here = []
    if start_them and settings.uses_embedded_services:
        for state in start(settings):
            if report is not None:
                report(state, "started")
            if state.changed:
                started_here.append(state.name)
    try:
        yield
    finally:
        if started_here:
            for state in stop(settings, only=started_here):
                if report is not None:
                    report(state, "stopped")
