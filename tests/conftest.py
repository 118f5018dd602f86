"""The test session's real stack: its own PostgreSQL (with TimescaleDB) and Mosquitto.

Both start once per session on free loopback ports, in a temporary directory, through the same
code that `lamplighter services start` uses, and stop at the end even when tests fail. Tests that
need an empty database get one of their own (`fresh_settings`), created and dropped around them.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from register.platform import config, queries
from register.platform.config import Settings
from register.platform.config.toml import write_toml
from register.stack import embedded
from register.stack.runtime import free_port


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
        yield path
    finally:
        embedded.stop(settings)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(stack_config: Path) -> Settings:
    """Settings for the session's running stack."""
    return config.load(stack_config, environ={})


def with_database(settings: Settings, name: str) -> Settings:
    """The same settings, pointed at another database of the same server."""
    url = settings.database_url.replace("/lamplighter?", f"/{name}?")
    return dataclasses.replace(settings, database=dataclasses.replace(settings.database, url=url))


@pytest.fixture
def fresh_settings(settings: Settings) -> Iterator[Settings]:
    """Settings pointed at a new, empty database that is dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        queries.create_database(admin, name, "lamplighter")
    try:
        yield with_database(settings, name)
    finally:
        with psycopg.connect(settings.database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
