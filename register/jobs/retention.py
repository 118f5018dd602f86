"""enforce_retention (being written)."""

from __future__ import annotations

from register.jobs.outcome import Outcome
from register.platform.config import Settings
from register.queries import Conn


def enforce_retention(conn: Conn, settings: Settings) -> Outcome:
    raise NotImplementedError("enforce_retention is being written")
