"""store_export_rows: keep the devices' stored export rows up to date."""

from __future__ import annotations

from register import exports
from register.jobs.outcome import Outcome
from register.platform.config import Settings
from register.queries import Conn


def store_export_rows(conn: Conn, settings: Settings) -> Outcome:
    """Store the devices' export rows that are missing or outdated (after a bulk load by COPY,
    or when their encoding changed), so that downloads need not encode them each time."""
    stored = exports.store_missing_rows(conn)
    return Outcome(stored, f"stored the export rows of {stored} devices" if stored else "")
