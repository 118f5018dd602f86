"""Who is writing through the API: the API token in `Authorization: Bearer <token>`
(`register.accounts.api_tokens`). Nothing else counts: the console's session cookie never
authenticates an API request.

Without a token, or with one that is unknown, revoked or expired, the answer is 401 with a
`WWW-Authenticate: Bearer` challenge (RFC 6750) and a problem saying which of these it was.
"""

from __future__ import annotations

from typing import NoReturn

from flask import abort, request

from register.accounts import api_tokens
from register.accounts.api_tokens import Token
from web import database
from web.views.errors import problem

REALM = "lamplighter"


def _unauthorised(detail: str, error: str | None = None) -> NoReturn:
    challenge = f'Bearer realm="{REALM}"'
    if error is not None:
        challenge += f', error="{error}"'
    abort(problem(401, detail, headers={"WWW-Authenticate": challenge}))


def token() -> Token:
    """The request's API token; answers 401 when there is no usable one."""
    header = request.headers.get("Authorization", "")
    if not header:
        _unauthorised(
            "this needs an API token, sent as 'Authorization: Bearer <token>'; an engineer of "
            "your organisation makes one at /console/tokens"
        )
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        _unauthorised(
            "the Authorization header must be 'Bearer <token>', with an API token",
            "invalid_request",
        )
    try:
        with database.connection() as conn, conn.transaction():
            return api_tokens.authenticate(conn, secret)
    except api_tokens.Refused as refused:
        _unauthorised(str(refused), "invalid_token")
