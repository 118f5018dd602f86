"""Fixtures for web tests: the application on a migrated database of the test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from register import db
from register.config import Settings
from web import create_app
from web.database import EXTENSION


@pytest.fixture
def web_settings(fresh_settings: Settings) -> Settings:
    with db.connect(fresh_settings) as conn:
        db.upgrade(conn)
    return fresh_settings


@pytest.fixture
def app(web_settings: Settings) -> Iterator[Flask]:
    application = create_app(web_settings)
    application.config["TESTING"] = True
    yield application
    application.extensions[EXTENSION].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
