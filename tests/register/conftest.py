"""Fixtures for register tests: a migrated database of the test's own, with no devices."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from register.platform import db
from register.platform.config import Settings


@pytest.fixture
def conn(migrated_settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the test's migrated database with no devices (`migrated_settings`),
    closed after the test."""
    with db.connect(migrated_settings) as connection:
        yield connection
