"""Device pages per second under gunicorn: `lamplighter web` as a child process on a loopback
port, driven by the load client in a process of its own."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from register.platform.config import Settings
from register.stack.runtime import free_port
from tests.benchmarks.common import CHECKOUT

READY_TIMEOUT = 30.0


@dataclass(frozen=True)
class Load:
    requests: int
    per_second: float
    p50: float
    p95: float
    errors: int
    first_errors: list[str]


def measure(
    settings: Settings,
    public_ids: list[str],
    *,
    workers: int,
    connections: int,
    requests: int,
    seconds: float,
) -> Load:
    """Serve the register in `settings` with gunicorn and load it with random device pages."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lamplighter-bench-web-") as scratch:
        ids_file = Path(scratch) / "ids.txt"
        ids_file.write_text("\n".join(public_ids) + "\n")
        log_path = Path(scratch) / "gunicorn.log"
        with log_path.open("wb") as log:
            server = _start_server(settings, port, workers, log)
            try:
                _wait_until_answering(server, port, log_path)
                result = _run_load_client(port, ids_file, connections, requests, seconds)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(30)
    if result["requests"] == 0:
        raise RuntimeError(f"the load client counted no requests: {result}")
    return Load(
        requests=result["requests"],
        per_second=result["requests"] / result["seconds"],
        p50=result["p50"],
        p95=result["p95"],
        errors=result["errors"],
        first_errors=result["first_errors"],
    )


def _start_server(
    settings: Settings, port: int, workers: int, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LAMPLIGHTER_DATABASE_URL": settings.database_url}
    argv = [sys.executable, "-m", "register.platform.cli", "web", "--port", str(port)]
    argv += ["--workers", str(workers)]
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)


def _wait_until_answering(server: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"lamplighter web exited: {log_path.read_text()[-2000:]}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    raise RuntimeError(f"lamplighter web did not answer within {READY_TIMEOUT:.0f} s")


def _run_load_client(
    port: int, ids_file: Path, connections: int, requests: int, seconds: float
) -> dict[str, Any]:
    argv = [sys.executable, "-m", "tests.benchmarks.web.load_client", str(port), str(ids_file)]
    argv += ["--connections", str(connections), "--requests", str(requests)]
    argv += ["--seconds", str(seconds)]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False, cwd=CHECKOUT
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load client failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result
