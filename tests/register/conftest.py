"""Fixtures for register tests: a migrated, empty database of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from register.platform import db
from register.platform.config import Settings


@pytest.fixture
def conn(fresh_settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """A connection to a freshly migrated database, closed after the test."""
    with db.connect(fresh_settings) as connection:
        db.upgrade(connection)
        yield connection
