"""Signing in to the console from a test client, and posting its forms with their token."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from register.accounts import users
from register.platform import db
from register.platform.config import Settings

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_account(settings: Settings, organisation: str, email: str, role: str = "engineer") -> str:
    """An account of an organisation that exists, with PASSWORD; its email."""
    with db.connect(settings) as conn, conn.transaction():
        _, secret = users.add_user(conn, organisation=organisation, email=email, role=role)
        users.set_password_with_link(conn, secret, PASSWORD)
    return email


def form_token(client: FlaskClient, path: str = "/console/login") -> str:
    """The form token on a console page (signed in or not)."""
    match = TOKEN.search(client.get(path).get_data(as_text=True))
    assert match, f"no form token on {path}"
    return match[1]


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    token = form_token(client)
    return client.post(
        "/console/login", data={"email": email, "password": password, "csrf_token": token}
    )


def post_form(
    client: FlaskClient, path: str, data: dict[str, Any], *, form_page: str = "/console/"
) -> TestResponse:
    """POST a console form with the signed-in session's form token."""
    return client.post(path, data={**data, "csrf_token": form_token(client, form_page)})
