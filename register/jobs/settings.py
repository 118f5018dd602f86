"""The scheduled jobs' settings: `[jobs]`."""

from __future__ import annotations

import dataclasses

from register.platform.config.fields import (
    at_least_one,
    not_negative,
    port_or_off,
    positive,
    setting,
)


@dataclasses.dataclass(frozen=True)
class JobsSettings:
    retention_interval: float = setting(
        900.0, "Seconds between runs of enforce_retention.", check=positive
    )
    silence_interval: float = setting(60.0, "Seconds between runs of mark_silent.", check=positive)
    quarantine_interval: float = setting(
        3600.0, "Seconds between runs of purge_quarantine.", check=positive
    )
    compliance_interval: float = setting(
        300.0, "Seconds between runs of compliance.", check=positive
    )
    silence_factor: float = setting(
        3.0,
        "A device is marked not reporting after this many of its declared reporting intervals "
        "without a message.",
        check=positive,
    )
    quarantine_keep_days: int = setting(
        7, "Days a refused message is kept before purge_quarantine deletes it.", check=at_least_one
    )
    history_interval: float = setting(
        86400.0, "Seconds between runs of prune_history.", check=positive
    )
    history_days: int = setting(
        7,
        "Days the record of job runs (and of readings deleted per metric) is kept; each job's "
        "latest run is always kept.",
        check=at_least_one,
    )
    retention_batch_rows: int = setting(
        200000, "Most readings one retention delete removes in one transaction.", check=at_least_one
    )
    retention_pause: float = setting(
        0.3,
        "After each retention batch, pause for this share of the batch's time, so that ingest "
        "keeps more of the machine (0.5: half as long again).",
        check=not_negative,
    )
    lock_timeout: float = setting(
        1.0,
        "Seconds a retention step waits for a lock before it gives way to ingest and moves on.",
        check=positive,
    )
    standby_poll: float = setting(
        5.0, "Seconds between a standby scheduler's attempts to take over.", check=positive
    )
    metrics_host: str = setting("127.0.0.1", "Address of the jobs' Prometheus endpoint.")
    metrics_port: int = setting(
        9109, "Port of the jobs' Prometheus endpoint; 0 turns it off.", check=port_or_off
    )
