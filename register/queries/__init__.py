"""The register's SQL, one module per subject, one function per statement, no ORM."""

from __future__ import annotations

from typing import Any

import psycopg

Conn = psycopg.Connection[Any]


def returned_id(row: tuple[Any, ...] | None) -> int:
    """The id from an INSERT … RETURNING id, which always returns a row."""
    if row is None:
        raise RuntimeError("INSERT … RETURNING id returned no row")
    return int(row[0])
