"""The test session's real stack: its own PostgreSQL (with TimescaleDB) and Mosquitto.

Both start once per session (once per pytest-xdist worker) on free loopback ports, in a
temporary directory, through the same code that `lamplighter services start` uses, and stop at
the end even when tests fail. A second
Mosquitto, which requires a user name and password, starts for the tests that need one.

Each test that needs a database gets one of its own, created and dropped around it:
- `migrated_settings`: every migration applied, no devices. It is a copy of a template that the
  real `db.upgrade` migrates once per session (`migrated_template`): running the migrations,
  TimescaleDB's included, for each of hundreds of tests took minutes.
- `fresh_settings`: empty, nothing applied; for the tests of the migrations themselves.
The session's PostgreSQL also runs without fsync (NON_DURABLE): it is deleted at the end.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from register.platform import config, db, queries
from register.platform.config import Settings
from register.platform.config.toml import write_toml
from register.stack import embedded
from register.stack.mosquitto import find_mosquitto
from register.stack.runtime import RunAs, accepts_connections, free_port


def write_stack_config(directory: Path, **services: object) -> Path:
    """Write a config.toml for a local stack kept in `directory`, on fresh ports."""
    values = {"pg_port": free_port(), "mqtt_port": free_port(), "data_dir": str(directory / "var")}
    values.update(services)
    return write_toml(directory / "config.toml", {"services": values})


def make_stack_dir(prefix: str) -> Path:
    # Not pytest's tmp_path: that sits in a 0700 directory, and the services' unprivileged user
    # must reach it. (The services would grant that themselves; the tests need not lean on it.)
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)
    return directory


@pytest.fixture(scope="session")
def stack_config() -> Iterator[Path]:
    """Path of the config file of the session's running stack."""
    directory = make_stack_dir("lamplighter-test-")
    path = write_stack_config(directory)
    settings = config.load(path, environ={})
    try:
        embedded.start(settings)
        give_up_durability(settings)
        yield path
    finally:
        embedded.stop(settings)
        shutil.rmtree(directory, ignore_errors=True)


# PostgreSQL's "non-durable settings": a crash could lose or corrupt recent commits. This
# cluster is deleted at the end of the session, so that costs nothing, while waiting for the
# disk made each test's CREATE DATABASE and DROP DATABASE (and every commit) several times slower.
NON_DURABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def give_up_durability(settings: Settings) -> None:
    """Apply NON_DURABLE to the session's own PostgreSQL (reloaded; no restart needed)."""
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        for name, value in NON_DURABLE.items():
            admin.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )
        admin.execute("SELECT pg_reload_conf()")


@pytest.fixture(scope="session")
def settings(stack_config: Path) -> Settings:
    """Settings for the session's running stack."""
    return config.load(stack_config, environ={})


@dataclasses.dataclass(frozen=True)
class PasswordBroker:
    """A real Mosquitto that refuses anonymous clients; `username` and `password` let one in."""

    port: int
    username: str = "sensor-gateway"
    password: str = "correct horse battery staple"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def settings(self, settings: Settings, username: str = "", password: str = "") -> Settings:
        """`settings` pointed at this broker, as `username` with `password`."""
        mqtt = dataclasses.replace(
            settings.mqtt, url=self.url, username=username, password=password
        )
        return dataclasses.replace(settings, mqtt=mqtt)


@pytest.fixture(scope="session")
def password_broker(settings: Settings) -> Iterator[PasswordBroker]:
    """A Mosquitto of its own with `allow_anonymous false` and a password file, on a free port."""
    broker = PasswordBroker(free_port())
    directory = make_stack_dir("lamplighter-password-broker-")
    run_as = RunAs.for_current_process(settings.services.user)
    passwords = directory / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), broker.username, broker.password],
        check=True,
        capture_output=True,
    )
    run_as.own(passwords, 0o600)
    conf = directory / "mosquitto.conf"
    conf.write_text(
        f"listener {broker.port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {passwords}\npersistence false\nlog_dest stderr\n"
        # A test subscriber may lag behind a burst: keep every message for it.
        "max_queued_messages 0\nmax_queued_bytes 0\n",
        encoding="utf-8",
    )
    with mosquitto_running(settings, conf, broker.port, directory):
        yield broker


@pytest.fixture
def credential_broker(migrated_settings: Settings) -> Iterator[Any]:
    """A Mosquitto of its own reading the access files Lamplighter writes from this test's
    register (`tests.broker_access.CredentialBroker`)."""
    from tests.broker_access import running_credential_broker  # noqa: PLC0415 - it imports us

    with running_credential_broker(migrated_settings) as broker:
        yield broker


@contextmanager
def mosquitto_running(
    settings: Settings, conf: Path, port: int, directory: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Mosquitto with this config, as the services' user, until the block ends; then
    stopped and `directory` removed. Its log is `directory/mosquitto.log`."""
    run_as = RunAs.for_current_process(settings.services.user)
    log_path = directory / "mosquitto.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [find_mosquitto(settings.services.mosquitto_bin), "-c", str(conf)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            user=run_as.uid if run_as.name else None,
            group=run_as.gid if run_as.name else None,
            extra_groups=[] if run_as.name else None,
        )
    try:
        wait_until(
            lambda: accepts_connections("127.0.0.1", port),
            what=f"Mosquitto to start (its log: {log_path})",
        )
        yield process
    finally:
        process.terminate()
        process.wait(15)
        shutil.rmtree(directory, ignore_errors=True)


def with_database(settings: Settings, name: str) -> Settings:
    """The same settings, pointed at another database of the same server."""
    url = settings.database_url.replace("/lamplighter?", f"/{name}?")
    return dataclasses.replace(settings, database=dataclasses.replace(settings.database, url=url))


@contextmanager
def database_of_its_own(settings: Settings, template: str) -> Iterator[Settings]:
    """Settings pointed at a new database copied from `template`, dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} OWNER lamplighter TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    try:
        yield with_database(settings, name)
    finally:
        with psycopg.connect(settings.database_url, autocommit=True) as admin:
            queries.drop_database(admin, name)


@pytest.fixture
def fresh_settings(settings: Settings) -> Iterator[Settings]:
    """Settings pointed at a new, EMPTY database (no extension, no migration applied), dropped
    after the test. Only for tests of the migration path itself; others want
    `migrated_settings`."""
    with database_of_its_own(settings, "template0") as fresh:
        yield fresh


MIGRATED_TEMPLATE = "lamplighter_template"


@pytest.fixture(scope="session")
def migrated_template(settings: Settings) -> str:
    """Name of a template database that the real `db.upgrade` migrated once for the session:
    every migration applied (with TimescaleDB), no devices. Nothing may change it."""
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        queries.create_database(admin, MIGRATED_TEMPLATE, "lamplighter")
    with db.connect(with_database(settings, MIGRATED_TEMPLATE)) as conn:
        db.upgrade(conn)
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        # CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template; closing
        # it to connections keeps out TimescaleDB's scheduler (its launcher starts one for every
        # database with the extension), which may already have connected, hence the terminate.
        admin.execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(
                sql.Identifier(MIGRATED_TEMPLATE)
            )
        )
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (MIGRATED_TEMPLATE,),
        )
        wait_until(
            lambda: (
                not admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = %s", (MIGRATED_TEMPLATE,)
                ).fetchone()
            ),
            what=f"the last session on {MIGRATED_TEMPLATE} to end",
        )
    return MIGRATED_TEMPLATE


@pytest.fixture
def migrated_settings(settings: Settings, migrated_template: str) -> Iterator[Settings]:
    """Settings pointed at a new database with every migration applied and no devices (a copy
    of `migrated_template`), dropped after the test."""
    with database_of_its_own(settings, migrated_template) as migrated:
        yield migrated


def wait_until(condition: Callable[[], Any], *, timeout: float = 15.0, what: str = "") -> Any:
    """Poll until `condition()` is truthy; its value. Fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(0.05)


def run_cli(
    *args: str,
    config_path: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the real `lamplighter` command line in a child process."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("LAMPLIGHTER_")}
    if config_path is not None:
        child_env["LAMPLIGHTER_CONFIG"] = str(config_path)
    child_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "register.platform.cli", *args],
        capture_output=True,
        text=True,
        env=child_env,
        timeout=timeout,
        check=False,
    )
