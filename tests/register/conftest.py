"""Fixtures for register tests: a migrated database of the test's own, with no devices."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from register.platform import db
from register.platform.config import Settings
from register.queries import Conn
from tests.register.factories import add_organisation


@pytest.fixture
def conn(migrated_settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the test's migrated database with no devices (`migrated_settings`),
    closed after the test."""
    with db.connect(migrated_settings) as connection:
        yield connection


@pytest.fixture
def camden(conn: Conn) -> Conn:
    """`conn`, with the organisations camden and hackney (no devices)."""
    with conn.transaction():
        add_organisation(conn)
        add_organisation(conn, "hackney")
    return conn
