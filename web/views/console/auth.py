"""The console's way in: sign in, set a password from a one-time link, sign out, and the
home page of an engineer's own organisation.

Signing in starts a fresh session; a wrong email or password gets one answer, whichever it was.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from register.accounts import logins, sessions, users
from register.platform.config import Settings
from web import database, signed_in
from web.device_filters import Filters
from web.device_list import everything
from web.views.console import blueprint


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page of this site, never elsewhere."""
    if target and target.startswith("/console") and not urlsplit(target).netloc:
        return target
    return url_for("console.home")


def _client_address() -> str:
    return request.remote_addr or "unknown"


@blueprint.get("/login")
def login() -> str | Response:
    if signed_in.current() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("console/login.html", next=request.args.get("next", ""), email="")


@blueprint.post("/login")
def login_post() -> tuple[str, int] | Response:
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    refused: logins.Refused | None = None
    settings: Settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    with database.connection() as conn, conn.transaction():
        # A refusal is committed too: it is what the limits count.
        try:
            user = logins.authenticate(
                conn,
                email,
                password,
                _client_address(),
                limit_per_address=settings.web.login_limit_per_address,
            )
            secret = sessions.start(conn, user)
        except logins.Refused as error:
            refused = error
    if refused is not None:
        page = render_template(
            "console/login.html", next=request.form.get("next", ""), email=email, error=refused
        )
        return page, 401
    response = redirect(_safe_next(request.form.get("next")))
    signed_in.set_cookie(response, signed_in.SESSION_COOKIE, secret)
    response.delete_cookie(signed_in.FORM_COOKIE, path="/console")
    return response


@blueprint.post("/logout")
def logout() -> Response:
    secret = request.cookies.get(signed_in.SESSION_COOKIE)
    if secret:
        with database.connection() as conn, conn.transaction():
            sessions.end(conn, secret)
    response = redirect(url_for("console.login", signed_out=1))
    response.delete_cookie(signed_in.SESSION_COOKIE, path="/console")
    return response


def _account_of_link(secret: str) -> users.User | None:
    with database.connection() as conn, conn.transaction():
        return users.account_of_link(conn, secret)


@blueprint.get("/password/<secret>")
def password(secret: str) -> tuple[str, int] | str:
    account = _account_of_link(secret)
    if account is None:
        return render_template("console/password.html", expired=True), 410
    return render_template("console/password.html", expired=False, account=account)


@blueprint.post("/password/<secret>")
def password_post(secret: str) -> tuple[str, int] | Response:
    password = request.form.get("password", "")
    problem = None
    if password != request.form.get("confirm", ""):
        problem = "The two passwords are not the same."
    else:
        try:
            with database.connection() as conn, conn.transaction():
                users.set_password_with_link(conn, secret, password)
        except users.AccountError as error:
            problem = str(error)[0].upper() + str(error)[1:] + "."
    if problem is not None:
        account = _account_of_link(secret)
        page = render_template(
            "console/password.html", expired=account is None, account=account, error=problem
        )
        return page, 400
    return redirect(url_for("console.login", password_set=1))


@blueprint.get("/")
@signed_in.required
def home() -> str:
    user = signed_in.user()
    with database.connection() as conn:
        devices = everything(conn, Filters(organisation=user.organisation))
    return render_template("console/home.html", user=user, devices=devices)
