"""What both embedded services need from the host: a user to run as, free ports, and paths.

PostgreSQL refuses to run as root, so when Lamplighter is started by root the services run as an
unprivileged system user (`services.user`). That user must be able to reach the data directory,
which may sit under a private home directory; `grant_reach` gives it search permission on each
directory in the way, and says so.
"""

from __future__ import annotations

import errno
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A local service cannot be set up, started or stopped; the message says why."""


@dataclass(frozen=True)
class ServiceStatus:
    """Whether a local service runs, its pid, where it listens, where its data is, and a word
    on why it does not run."""

    running: bool
    pid: int | None
    address: str
    data_dir: Path
    detail: str


@dataclass(frozen=True)
class RunAs:
    """Who the services run as: the current user, or `name` when the current user is root."""

    name: str | None
    uid: int
    gid: int

    @classmethod
    def for_current_process(cls, service_user: str) -> RunAs:
        if os.geteuid() != 0:
            return cls(None, os.geteuid(), os.getegid())
        entry = ensure_system_user(service_user)
        return cls(service_user, entry.pw_uid, entry.pw_gid)

    def run(self, argv: Sequence[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        """Run a command as this user, capturing its output as text."""
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            list(argv),
            user=self.uid if self.name else None,
            group=self.gid if self.name else None,
            extra_groups=[] if self.name else None,
            capture_output=True,
            text=True,
            check=False,
            env=service_environment(),
            **kwargs,
        )

    def own(self, path: Path, mode: int) -> None:
        """Give a file or directory to this user with the given permission bits."""
        if self.name:
            os.chown(path, self.uid, self.gid)
        path.chmod(mode)


def service_environment() -> dict[str, str]:
    """A small, predictable environment for the service programs."""
    return {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
    }


def ensure_system_user(name: str) -> pwd.struct_passwd:
    """Return the system user, creating it (no home, no login shell) when it is missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    log.info("creating system user %s to run the local services", name)
    for attempt in range(10):
        result = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "Lamplighter local services",
                name,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        # Another process creating it at the same moment holds the lock on /etc/passwd.
        if result.returncode == 0 or "already exists" in result.stderr:
            return pwd.getpwnam(name)
        if "lock" not in result.stderr or attempt == 9:
            break
        time.sleep(0.5)
    raise ServiceError(f"cannot create system user {name}: {result.stderr.strip()}")


def grant_reach(target: Path, run_as: RunAs) -> None:
    """Make sure the service user can traverse every directory from / down to `target`."""
    if run_as.name is None:
        return
    # Top down: once a directory is granted, the ones below it can be tested for real.
    for directory in [*reversed(target.parents), target]:
        if directory.is_dir() and not _can_search(directory, run_as):
            _grant_search(directory, run_as.name)


def _grant_search(directory: Path, user: str) -> None:
    setfacl = shutil.which("setfacl")
    if setfacl is None:
        raise ServiceError(
            f"user {user} cannot reach {directory}; install the acl package "
            f"(deploy/install does) or run: chmod o+x {directory}"
        )
    log.warning("granting user %s search permission (x only) on %s", user, directory)
    result = subprocess.run(
        [setfacl, "-m", f"u:{user}:x", str(directory)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ServiceError(
            f"user {user} cannot reach {directory} and setfacl failed: {result.stderr.strip()}"
        )


def _can_search(directory: Path, run_as: RunAs) -> bool:
    result = run_as.run(["test", "-x", str(directory)])
    return result.returncode == 0


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port (a bind test, as the service would do)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise ServiceError(f"cannot use address {host}:{port}: {error.strerror}") from None
    return True


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now (for tests and benchmarks)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_free_port(host: str, port: int, service: str, setting: str) -> None:
    """Raise a clear error naming the port when another program already holds it."""
    if not port_is_free(host, port):
        variable = "LAMPLIGHTER_" + setting.upper().replace(".", "_")
        raise ServiceError(
            f"port {port} on {host} is already in use by another program, so {service} cannot "
            f"start there; choose another port with {setting} (or {variable})"
        )


def accepts_connections(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(ready: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `ready` until it returns True or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(interval)
    return ready()


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def process_command(pid: int) -> str:
    """The program name of a running process, or '' when it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM a process, wait for it to exit, and SIGKILL it if it will not."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if not wait_until(lambda: not process_alive(pid), timeout):
        log.warning("process %d ignored SIGTERM for %.0f s; killing it", pid, timeout)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        wait_until(lambda: not process_alive(pid), 5)


def tail(path: Path, lines: int = 5) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
