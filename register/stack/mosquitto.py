"""The embedded Mosquitto broker, with a config Lamplighter writes, under var/mosquitto/.

Layout under `<data_dir>/mosquitto/`:
  mosquitto.conf   generated at every start from the settings
  data/            the persistence file: sessions and queued QoS 1 messages survive a restart
  mosquitto.log    the broker's log
  mosquitto.pid    the running broker's pid

The listener is on loopback only: it is the development and demo broker. Who may connect, and
to which topics, follows the register: each device with a credential publishes as itself only,
Lamplighter's ingester and simulator have accounts of their own, and anonymous clients are let
in only until the first device credential is issued. The files (in `var/broker-access/`, see
register/stack/broker_access.py) are written at every start and
kept by `lamplighter broker files --follow`, which `lamplighter up` runs. Production points
`mqtt.url` at a real broker with TLS, whose credentials come from the same register.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
from pathlib import Path

from register.platform.config import Settings
from register.stack import broker_access
from register.stack.runtime import (
    RunAs,
    ServiceError,
    ServiceStatus,
    accepts_connections,
    grant_reach,
    process_alive,
    process_command,
    require_free_port,
    tail,
    terminate,
    wait_until,
)

log = logging.getLogger(__name__)


class EmbeddedMosquitto:
    """Configure, start, stop and report on the project-local Mosquitto broker."""

    name = "mosquitto"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir / "mosquitto"
        self.conf = self.root / "mosquitto.conf"
        self.persistence = self.root / "data"
        self.log_file = self.root / "mosquitto.log"
        self.pid_file = self.root / "mosquitto.pid"

    @property
    def address(self) -> str:
        return f"{self.settings.services.host}:{self.settings.services.mqtt_port}"

    def _pid(self) -> int | None:
        """The pid in the pid file, if that process is still a running mosquitto."""
        try:
            pid = int(self.pid_file.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None
        if process_alive(pid) and process_command(pid).startswith("mosquitto"):
            return pid
        return None

    def status(self, run_as: RunAs) -> ServiceStatus:
        pid = self._pid()
        if pid is not None:
            return ServiceStatus(True, pid, self.address, self.persistence, "")
        detail = "stopped" if self.conf.exists() else "not created yet"
        return ServiceStatus(False, None, self.address, self.persistence, detail)

    def start(self, run_as: RunAs) -> bool:
        """Write the config and start the broker; False when it was already running (then a
        config that changed since, as after an upgrade, is written and read again)."""
        if self._pid() is not None:
            if self._write_conf():
                broker_access.write(self.settings, group=run_as.gid if run_as.name else None)
                self.reload()
            return False
        s = self.settings.services
        require_free_port(s.host, s.mqtt_port, "Mosquitto", "services.mqtt_port")
        self.root.mkdir(parents=True, exist_ok=True)
        grant_reach(self.root, run_as)
        self.persistence.mkdir(exist_ok=True)
        run_as.own(self.persistence, 0o700)
        # The broker writes its log and pid file itself, so the directory must be its own.
        run_as.own(self.root, 0o755)
        self._write_conf()
        broker_access.write(self.settings, group=run_as.gid if run_as.name else None)
        self.pid_file.unlink(missing_ok=True)
        result = run_as.run([find_mosquitto(s.mosquitto_bin), "-c", str(self.conf), "-d"])
        if result.returncode != 0:
            raise ServiceError(
                f"Mosquitto did not start on {self.address}: "
                f"{(result.stdout + result.stderr).strip()}\n{tail(self.log_file)}"
            )
        up = wait_until(
            lambda: self._pid() is not None and accepts_connections(s.host, s.mqtt_port),
            s.start_timeout,
        )
        if not up:
            raise ServiceError(
                f"Mosquitto did not accept connections on {self.address} within "
                f"{s.start_timeout:.0f} s\n{tail(self.log_file)}"
            )
        return True

    def stop(self, run_as: RunAs) -> bool:
        """Stop the broker; it saves its persistence file on the way out."""
        pid = self._pid()
        if pid is None:
            return False
        terminate(pid, timeout=self.settings.services.start_timeout)
        self.pid_file.unlink(missing_ok=True)
        return True

    def reload(self) -> bool:
        """Have the running broker read its config and access files again (SIGHUP); False
        when it is not running."""
        pid = self._pid()
        if pid is None:
            log.warning("the embedded Mosquitto is not running: nothing to reload")
            return False
        os.kill(pid, signal.SIGHUP)
        return True

    def _write_conf(self) -> bool:
        """Write the broker's config; False when it already said exactly that."""
        s = self.settings.services
        access = broker_access.layout(self.settings)
        text = (
            "# Written by `lamplighter services start`; edits are overwritten.\n"
            f"listener {s.mqtt_port} {s.host}\n"
            f"password_file {access.passwords}\n"
            f"acl_file {access.acl}\n"
            # allow_anonymous, in a file of its own that follows the register.
            f"include_dir {access.conf_dir}\n"
            "persistence true\n"
            f"persistence_location {self.persistence}/\n"
            "autosave_interval 30\n"
            # An ingester that is down or waiting for the database must not lose its backlog:
            # the broker holds it (bounded by memory, not by a small message count).
            "max_queued_messages 2000000\n"
            "max_queued_bytes 0\n"
            "max_inflight_messages 0\n"
            "persistent_client_expiration 7d\n"
            "message_size_limit 0\n"
            f"log_dest file {self.log_file}\n"
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            "log_timestamp_format %Y-%m-%dT%H:%M:%S\n"
            f"pid_file {self.pid_file}\n"
        )
        try:
            if self.conf.read_text(encoding="utf-8") == text:
                return False
        except FileNotFoundError:
            pass
        self.conf.write_text(text, encoding="utf-8")
        return True


def find_mosquitto(configured: str) -> str:
    """The mosquitto program: the configured path, else the one on PATH or in /usr/sbin."""
    if configured:
        if not Path(configured).exists():
            raise ServiceError(f"services.mosquitto_bin {configured} does not exist")
        return configured
    found = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise ServiceError("Mosquitto is not installed; run deploy/install (make run does)")
    return found
