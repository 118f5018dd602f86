"""The web application's connections: one pool per process, borrowed per request."""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from flask import Flask, current_app
from psycopg_pool import ConnectionPool

from register import db
from register.config import Settings

EXTENSION = "lamplighter.pool"


def init_app(app: Flask, settings: Settings) -> None:
    """Give the app a connection pool. It connects in the background, so the web starts (and
    /healthz answers 503) even while the database is down."""
    pool = ConnectionPool(
        settings.database_url,
        min_size=settings.database.pool_min,
        max_size=settings.database.pool_max,
        kwargs={
            "connect_timeout": settings.database.connect_timeout,
            # No public request may hold the database for long (a huge range of readings).
            "options": f"-c statement_timeout={round(settings.web.statement_timeout * 1000)}",
            **db.KEEPALIVES,
        },
        name="lamplighter-web",
        open=True,
    )
    app.extensions[EXTENSION] = pool
    atexit.register(pool.close)


@contextmanager
def connection(timeout: float = 5.0) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection for one request; read-only work, so each statement commits alone."""
    pool: ConnectionPool = current_app.extensions[EXTENSION]
    with pool.connection(timeout=timeout) as conn:
        yield conn
