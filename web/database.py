"""The web application's connections: the process's pool (made by `register.platform.db`),
borrowed per request."""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from flask import Flask, current_app
from psycopg_pool import ConnectionPool

from register.platform import db
from register.platform.config import Settings

EXTENSION = "lamplighter.pool"


def init_app(app: Flask, settings: Settings) -> None:
    """Give the app a connection pool (`register.platform.db.create_pool`), closed at exit."""
    # No public request may hold the database for long (a huge range of readings).
    pool = db.create_pool(
        settings, name="lamplighter-web", statement_timeout=settings.web.statement_timeout
    )
    app.extensions[EXTENSION] = pool
    atexit.register(pool.close)


@contextmanager
def connection(timeout: float = 5.0) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection for one request; read-only work, so each statement commits alone."""
    pool: ConnectionPool = current_app.extensions[EXTENSION]
    with pool.connection(timeout=timeout) as conn:
        yield conn
