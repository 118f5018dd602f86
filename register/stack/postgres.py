"""The embedded PostgreSQL: a project-local cluster with TimescaleDB preloaded, under var/.

Layout under `<data_dir>/postgres/`:
  data/             the cluster (owned by the service user, mode 0700)
  log/server.log    the server's log
  pgpass            the generated password, in libpq's passfile format (mode 0600)

The server listens on TCP on loopback only (no Unix socket, whose path length is limited) and
requires a password (scram-sha-256). The password is made by `secrets` at initdb time and never
leaves var/; `database_url` points libpq at the passfile instead of holding it.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
from pathlib import Path

import psycopg

from register.platform import queries
from register.platform.config import Settings
from register.stack.runtime import (
    RunAs,
    ServiceError,
    ServiceStatus,
    accepts_connections,
    grant_reach,
    require_free_port,
    tail,
)

log = logging.getLogger(__name__)

SUPERUSER = "lamplighter"
DATABASE = "lamplighter"
CONF_NAME = "lamplighter.conf"


class EmbeddedPostgres:
    """Create, start, stop and report on the project-local PostgreSQL cluster."""

    name = "postgresql"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir / "postgres"
        self.data = self.root / "data"
        self.log_file = self.root / "log" / "server.log"
        self.passfile = self.root / "pgpass"
        self.bin_dir = find_bin_dir(settings.services.pg_bin_dir)

    @property
    def address(self) -> str:
        return f"{self.settings.services.host}:{self.settings.services.pg_port}"

    def _pg(self, run_as: RunAs, *args: str) -> tuple[int, str]:
        result = run_as.run([str(self.bin_dir / args[0]), *args[1:]])
        return result.returncode, (result.stdout + result.stderr).strip()

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def status(self, run_as: RunAs) -> ServiceStatus:
        """Whether the cluster's server runs, and with which pid."""
        if not self.initialised():
            return ServiceStatus(False, None, self.address, self.data, "not created yet")
        code, output = self._pg(run_as, "pg_ctl", "status", "-D", str(self.data))
        match = re.search(r"PID: (\d+)", output)
        if code == 0 and match:
            return ServiceStatus(True, int(match[1]), self.address, self.data, "")
        return ServiceStatus(False, None, self.address, self.data, "stopped")

    def start(self, run_as: RunAs) -> bool:
        """Create the cluster if needed and start it; False when it was already running."""
        if self.initialised() and self.status(run_as).running:
            return False
        s = self.settings.services
        require_free_port(s.host, s.pg_port, "PostgreSQL", "services.pg_port")
        self._prepare_directories(run_as)
        if not self.initialised():
            self._initdb(run_as)
        self._write_conf()
        code, output = self._pg(
            run_as,
            "pg_ctl",
            "start",
            "-D",
            str(self.data),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(int(s.start_timeout)),
        )
        if code != 0:
            raise ServiceError(
                f"PostgreSQL did not start on {self.address}: {output}\n{tail(self.log_file)}"
            )
        if not accepts_connections(s.host, s.pg_port):
            raise ServiceError(
                f"PostgreSQL started but does not accept connections on {self.address}"
            )
        self._ensure_database()
        return True

    def stop(self, run_as: RunAs) -> bool:
        """Stop the server (fast shutdown: sessions end, data is safe); False if it was stopped."""
        if not self.status(run_as).running:
            return False
        code, output = self._pg(
            run_as,
            "pg_ctl",
            "stop",
            "-D",
            str(self.data),
            "-m",
            "fast",
            "-w",
            "-t",
            str(int(self.settings.services.start_timeout)),
        )
        if code != 0:
            raise ServiceError(f"PostgreSQL did not stop: {output}")
        return True

    def _prepare_directories(self, run_as: RunAs) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        grant_reach(self.root, run_as)
        for directory, mode in ((self.data, 0o700), (self.log_file.parent, 0o750)):
            directory.mkdir(exist_ok=True)
            run_as.own(directory, mode)

    def _initdb(self, run_as: RunAs) -> None:
        log.info("creating the PostgreSQL cluster in %s", self.data)
        password = secrets.token_urlsafe(24)
        pwfile = self.root / ".initdb-password"
        pwfile.write_text(password + "\n", encoding="utf-8")
        try:
            run_as.own(pwfile, 0o600)
            code, output = self._pg(
                run_as,
                "initdb",
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--no-locale",
                "--auth-host=scram-sha-256",
                "--auth-local=reject",
                f"--pwfile={pwfile}",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if code != 0:
            raise ServiceError(f"initdb failed: {output}")
        # libpq's passfile format; '*' matches any host, port and database of this cluster.
        self.passfile.touch(mode=0o600)
        self.passfile.chmod(0o600)
        self.passfile.write_text(f"*:*:*:{SUPERUSER}:{password}\n", encoding="utf-8")
        conf = self.data / "postgresql.conf"
        with conf.open("a", encoding="utf-8") as f:
            f.write(
                f"\n# Lamplighter's settings, rewritten at every start.\ninclude '{CONF_NAME}'\n"
            )

    def _write_conf(self) -> None:
        """Rewrite the settings that follow Lamplighter's config (port, address, extensions)."""
        s = self.settings.services
        (self.data / CONF_NAME).write_text(
            "# Written by `lamplighter services start`; edits are overwritten.\n"
            f"listen_addresses = '{s.host}'\n"
            f"port = {s.pg_port}\n"
            "unix_socket_directories = ''\n"
            "shared_preload_libraries = 'timescaledb'\n"
            "timescaledb.telemetry_level = off\n"
            "max_connections = 100\n"
            "shared_buffers = 256MB\n"
            "max_wal_size = 2GB\n"
            "log_timezone = 'UTC'\n"
            "timezone = 'UTC'\n",
            encoding="utf-8",
        )

    def _ensure_database(self) -> None:
        url = (
            f"postgresql://{SUPERUSER}@{self.settings.services.host}:"
            f"{self.settings.services.pg_port}/postgres?passfile={self.passfile}"
        )
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            if not queries.database_exists(conn, DATABASE):
                log.info("creating database %s", DATABASE)
                queries.create_database(conn, DATABASE, SUPERUSER)


def find_bin_dir(configured: str) -> Path:
    """PostgreSQL's bin directory: the configured one, else the newest under /usr/lib/postgresql."""
    if configured:
        path = Path(configured)
        if not (path / "postgres").exists():
            raise ServiceError(f"services.pg_bin_dir {path} has no postgres program in it")
        return path
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).resolve().parent
    raise ServiceError("PostgreSQL is not installed; run deploy/install (make run does)")
