"""The engineers' console at `/console`: one blueprint, whose pages live in this package's
modules, one module per part of the console:
  - `auth`: sign in, set a password from a one-time link, sign out, and the home page.
  - `admin`: the administrators' pages: organisations, and accounts across organisations.
  - `devices`: the organisation's devices; add, edit (with metrics) and decommission one.
  - `imports`, `history`, `quarantine`: bulk import with a preview, the organisation's history
    with who made each change, and its devices' refused messages with sample payloads.
  - `tokens`: the organisation's API tokens: list, make (shown once) and revoke.
  - `credentials`: a device's MQTT credential: issue (its password shown once) and revoke.

Every console page is private to one person (never cached), and every POST carries its form
token (`web.signed_in`), checked here before any view runs.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response

from web import signed_in

blueprint = Blueprint("console", __name__, url_prefix="/console")


@blueprint.after_request
def no_caching(response: Response) -> Response:
    """Console pages are for one person: never stored by a browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return signed_in.keep_form_cookie(response)


@blueprint.before_request
def check_every_form() -> Response | None:
    """Every POST to the console carries its form token, checked before its view runs. Signing
    out of a session that has already ended needs none: it only goes to the login page."""
    if request.method != "POST":
        return None
    if request.endpoint == "console.logout" and signed_in.current() is None:
        return redirect(url_for("console.login", signed_out=1))
    signed_in.check_form_token()
    return None


@blueprint.context_processor
def console_context() -> dict[str, object]:
    return {"form_token": signed_in.form_token}


@blueprint.app_context_processor
def who_is_signed_in() -> dict[str, object]:
    """Every page may say who is signed in: as far as the request has looked it up already
    (the console's views all have), so no page, error pages included, queries for it."""
    return {"signed_in_user": signed_in.known_user}


# The pages: each module adds its routes to the blueprint above.
from web.views.console import (  # noqa: E402,F401
    admin,
    auth,
    credentials,
    devices,
    history,
    imports,
    quarantine,
    tokens,
)
