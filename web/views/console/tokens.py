"""`/console/tokens`: the API tokens of an engineer's organisation. The page lists them (never
their secrets), makes a new one, whose secret is shown once, on a page no one stores, and
revokes one after asking to confirm.

A token is the organisation's, not the engineer's: it keeps working when its maker's account is
disabled, until it is revoked or expires. Another organisation's token is a 403.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from register.accounts import api_tokens
from register.audit import NotAllowed
from web import database, signed_in
from web.views.console import blueprint

EXPIRY_FORMAT = "Give the date as YYYY-MM-DD, e.g. 2027-03-31, or leave it empty."


def _when(moment: datetime | None, never: str) -> str:
    return f"{moment:%-d %B %Y, %H:%M} UTC" if moment is not None else never


def _row(token: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": token["id"],
        "name": token["name"],
        "prefix": token["prefix"],
        "made_by": token["created_by_label"] or "unknown",
        "made": _when(token["created_at"], ""),
        "expires": _when(token["expires_at"], "never"),
        "last_used": _when(token["last_used_at"], "never"),
        "revoked": _when(token["revoked_at"], "") if token["revoked_at"] else "",
    }


def as_sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + "."


def _tokens_page(
    errors: dict[str, str] | None = None, typed: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    user = signed_in.user()
    with database.connection() as conn:
        found = api_tokens.list_tokens(conn, user.organisation)
    page = render_template(
        "console/tokens.html",
        user=user,
        tokens=[_row(token) for token in found],
        errors=errors or {},
        typed=typed or {"name": "", "expires": ""},
        revoked=request.args.get("revoked", ""),
        today=datetime.now(UTC).date().isoformat(),
    )
    return page, status


@blueprint.get("/tokens")
@signed_in.required
def tokens() -> tuple[str, int]:
    return _tokens_page()


def _read_form() -> tuple[str, date | None, dict[str, str]]:
    """The form's name and expiry, and an error for each field that is wrong."""
    errors: dict[str, str] = {}
    name = request.form.get("name", "")
    try:
        name = api_tokens.check_name(name)
    except api_tokens.TokenError as error:
        errors["name"] = as_sentence(error)
    expires_on = None
    typed = request.form.get("expires", "").strip()
    if typed:
        try:
            expires_on = api_tokens.check_expiry(date.fromisoformat(typed))
        except ValueError:
            errors["expires"] = EXPIRY_FORMAT
        except api_tokens.TokenError as error:
            errors["expires"] = as_sentence(error)
    return name, expires_on, errors


@blueprint.post("/tokens")
@signed_in.required
def create_token() -> str | tuple[str, int]:
    user = signed_in.user()
    name, expires_on, errors = _read_form()
    if errors:
        typed = {"name": request.form.get("name", ""), "expires": request.form.get("expires", "")}
        return _tokens_page(errors, typed, 400)
    with database.connection() as conn, conn.transaction():
        _, secret = api_tokens.create(
            conn,
            organisation=user.organisation,
            name=name,
            made_by=user.actor(),
            expires_on=expires_on,
        )
    # Shown in this answer only: never in an address, a redirect or a log.
    return render_template(
        "console/token_made.html", user=user, name=name, secret=secret, expires_on=expires_on
    )


def _token_of_mine(token_id: int) -> dict[str, Any]:
    """A token of the signed-in engineer's organisation: 404 if there is none, 403 if it is
    another organisation's."""
    try:
        with database.connection() as conn:
            return api_tokens.get(conn, token_id, signed_in.user().actor())
    except api_tokens.UnknownToken:
        abort(404, description="There is no such API token.")
    except NotAllowed as refused:
        abort(403, description=as_sentence(refused))


@blueprint.get("/tokens/<int:token_id>/revoke")
@signed_in.required
def revoke_token(token_id: int) -> str:
    return render_template("console/token_revoke.html", token=_row(_token_of_mine(token_id)))


@blueprint.post("/tokens/<int:token_id>/revoke")
@signed_in.required
def revoke_token_post(token_id: int) -> Response:
    _token_of_mine(token_id)
    with database.connection() as conn, conn.transaction():
        api_tokens.revoke(conn, token_id, signed_in.user().actor())
    return redirect(url_for("console.tokens", revoked=token_id))
