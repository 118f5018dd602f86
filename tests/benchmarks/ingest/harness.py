"""Run `lamplighter ingest` as a child process and watch it through its metrics endpoint.

The benchmark and the crash, outage and scale-out tests all need a real ingester process
that can be killed, restarted and measured from outside; this module gives them one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

from prometheus_client.parser import text_string_to_metric_families

from register.platform.config.toml import write_toml
from register.stack.runtime import free_port, port_is_free


def consecutive_free_ports(count: int) -> int:
    """The first of `count` ports in a row that are all free now (an ingester's metrics port
    each, under `--processes`)."""
    while True:
        first = free_port()
        if all(port_is_free("127.0.0.1", first + n) for n in range(1, count)):
            return first


def write_config(
    path: Path, sections: dict[str, dict[str, Any]], sources: list[dict[str, Any]]
) -> Path:
    """Write a config file with the given sections and [[mqtt.sources]] tables."""
    return write_toml(path, sections, {"mqtt.sources": sources})


class MemoryUse(NamedTuple):
    """A process's resident memory, in KiB: now, and the most it has had."""

    rss_kib: int
    peak_kib: int


@dataclass
class IngesterProcess:
    """A `lamplighter ingest` child process."""

    config_file: Path
    metrics_port: int
    client_id: str
    log_path: Path
    # More `lamplighter ingest` options, e.g. ("--processes", "2").
    options: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> IngesterProcess:
        self._log = self.log_path.open("ab")
        argv = [
            sys.executable,
            "-m",
            "register.platform.cli",
            "--config",
            str(self.config_file),
            "ingest",
            "--client-id",
            self.client_id,
            "--metrics-port",
            str(self.metrics_port),
            *self.options,
        ]
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def _started(self) -> subprocess.Popen[bytes]:
        if self.process is None:
            raise RuntimeError("the ingester has not been started")
        return self.process

    @property
    def pid(self) -> int:
        return self._started().pid

    def metrics(self) -> dict[str, float]:
        """Every sample of the metrics endpoint, by name (labels joined into the name)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            text = answer.read().decode()
        samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return samples

    def metric(self, name: str) -> float:
        try:
            return self.metrics().get(name, 0.0)
        except OSError:
            return -1.0

    def wait_for(self, name: str, at_least: float, timeout: float, poll: float = 0.02) -> float:
        """Wait until a metric reaches a value; the monotonic time it did. TimeoutError if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"the ingester exited with {self.process.returncode}; see {self.log_path}"
                )
            if self.metric(name) >= at_least:
                return time.monotonic()
            time.sleep(poll)
        raise TimeoutError(f"{name} did not reach {at_least} in {timeout:.0f} s")

    def wait_subscribed(self, sources: int = 1, timeout: float = 30.0) -> None:
        self.wait_for("lamplighter_ingest_sources_subscribed", sources, timeout, poll=0.05)

    def memory_kib(self) -> MemoryUse:
        """The current and peak RSS, from /proc."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return MemoryUse(
            rss_kib=int(fields["VmRSS"].split()[0]), peak_kib=int(fields["VmHWM"].split()[0])
        )

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; the exit code."""
        process = self._started()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        code = process.wait(timeout)
        self._close_log()
        return code

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        process = self._started()
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
