"""compute_compliance (being written)."""

from __future__ import annotations

from register.jobs.outcome import Outcome
from register.platform.config import Settings
from register.queries import Conn


def compute_compliance(conn: Conn, settings: Settings) -> Outcome:
    raise NotImplementedError("compute_compliance is being written")
