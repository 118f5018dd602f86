"""Who is signed in to the console, and the protection of its forms.

The session cookie holds a server-side session's secret (`register.accounts.sessions`). Forms
carry a token: a signed-in session's own, or, before sign-in (the login and password forms), a
random one also set in a cookie that a page on another site cannot read or set ("double
submit"). A POST whose token does not match is refused with 403 before anything else runs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from register.accounts import sessions, tokens
from register.accounts.sessions import Session
from register.accounts.users import User
from register.platform.config import Settings
from web import database

SESSION_COOKIE = "lamplighter_session"
FORM_COOKIE = "lamplighter_form"
FORM_FIELD = "csrf_token"

View = TypeVar("View", bound=Callable[..., Any])


def current() -> Session | None:
    """The request's open session, if it has one (looked up once per request)."""
    if "console_session" not in g:
        secret = request.cookies.get(SESSION_COOKIE)
        found = None
        if secret:
            settings: Settings = current_app.config["LAMPLIGHTER_SETTINGS"]
            with database.connection() as conn, conn.transaction():
                found = sessions.find(conn, secret, settings.web.session_idle_minutes * 60)
        g.console_session = found
    session: Session | None = g.console_session
    return session


def known_user() -> User | None:
    """Who is signed in, if this request has looked it up already (every console view has);
    never a query, so a page's footer or an error page works with the database down."""
    session: Session | None = g.get("console_session")
    return session.user if session is not None else None


def user() -> User:
    """The signed-in user of a view guarded by `required`."""
    session = current()
    if session is None:
        raise RuntimeError("user() outside a view guarded by signed_in.required")
    return session.user


def required(view: View) -> View:
    """Guard a console view: without an open session, go to the login page, then come back."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if current() is None:
            back = request.path if request.method != "GET" else request.full_path.rstrip("?")
            return redirect(url_for("console.login", next=back))
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def admin_required(view: View) -> View:
    """Guard an administrators' view: signed in, and an administrator, or 403."""

    @required
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not user().is_admin:
            abort(403, description="only the register's administrators may do this")
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def form_token() -> str:
    """The token this request's forms carry."""
    session = current()
    if session is not None:
        return session.csrf_token
    if "form_token" not in g:
        g.form_token = request.cookies.get(FORM_COOKIE) or tokens.new_secret()
    token: str = g.form_token
    return token


def check_form_token() -> None:
    """Refuse (403) a POST whose form token is missing or wrong."""
    sent = request.form.get(FORM_FIELD, "")
    session = current()
    expected = session.csrf_token if session is not None else request.cookies.get(FORM_COOKIE, "")
    if not sent or not expected or not tokens.same(sent, expected):
        abort(
            403,
            description="the form's security token is missing or out of date; reload the page "
            "and try again",
        )


def set_cookie(response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )


def keep_form_cookie(response: Response) -> Response:
    """Before sign-in, the form token travels in a cookie as well. (A page with a form looked up
    its session already, so this asks the database nothing.)"""
    if "form_token" in g and known_user() is None:
        set_cookie(response, FORM_COOKIE, g.form_token)
    return response
