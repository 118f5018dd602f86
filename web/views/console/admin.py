"""The administrators' pages at `/console/admin`: every organisation (list, create, edit) and
every account across organisations (list, add, a new password link, disable).

Only administrators see them: anyone else gets 403 (`signed_in.admin_required`) before a view
runs. Changes go through the register's service functions with the administrator as the actor,
so each leaves its audit event. A one-time link is shown once, in the answer to the POST that
made it (never stored, logged or put in an address), and console pages are never cached.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from register import organisations
from register.accounts import users
from register.accounts.links import password_link
from register.platform.config import Settings
from register.queries import Conn
from register.schemas import ORGANISATION_KINDS
from register.validation import FieldError, InvalidEntry
from web import database, queries, signed_in
from web.views.console import blueprint

# The organisation form's fields and their labels, in the form's order.
ORGANISATION_LABELS = {
    "slug": "Short name (slug)",
    "name": "Name",
    "kind": "Kind of organisation",
    "contact_email": "Contact email address",
    "privacy_notice_url": "Privacy notice web address",
    "dpo_contact": "Data protection officer",
    "website": "Website",
}
KIND_NAMES = {
    "borough": "London borough",
    "regional_authority": "Regional authority, such as the Greater London Authority",
    "transport_authority": "Transport authority, such as Transport for London",
    "public_body": "Another public body",
    "vendor": "Sensor maker or supplier",
    "university": "University or research body",
    "business": "Business",
    "community": "Community group",
    "other": "Another kind",
}
ACCOUNT_LABELS = {
    "organisation": "Organisation",
    "email": "Email address",
    "display_name": "Name",
    "role": "Role",
}
ROLE_NAMES = {
    "engineer": "Engineer: keeps the organisation's devices",
    "admin": "Administrator: also manages organisations and accounts",
}
# Field errors: 422, the form was read but what it says cannot be saved.
INVALID = 422


def _errors(found: list[FieldError]) -> dict[str, str]:
    """Field errors by field, the first one of each ("" for the form as a whole)."""
    errors: dict[str, str] = {}
    for error in found:
        errors.setdefault(error.field, error.message)
    return errors


# Organisations


@blueprint.get("/admin")
@signed_in.admin_required
def admin() -> str:
    with database.connection() as conn:
        found = queries.list_organisation_overviews(conn)
    return render_template(
        "console/admin/organisations.html",
        organisations=found,
        kinds=KIND_NAMES,
        saved=request.args.get("saved", ""),
    )


@blueprint.get("/admin/organisations/new")
@signed_in.admin_required
def new_organisation() -> str:
    return _organisation_form(None, {"kind": "borough"}, {})


@blueprint.post("/admin/organisations/new")
@signed_in.admin_required
def create_organisation() -> tuple[str, int] | Response:
    entry = _organisation_entry(request.form.get("slug", ""))
    try:
        with database.connection() as conn, conn.transaction():
            organisations.create_organisation(conn, entry, signed_in.user().administrator())
    except InvalidEntry as invalid:
        return _organisation_form(None, entry, _errors(invalid.errors)), INVALID
    return redirect(url_for("console.admin", saved=entry["slug"]))


@blueprint.get("/admin/organisations/<slug>")
@signed_in.admin_required
def edit_organisation(slug: str) -> str:
    with database.connection() as conn:
        entry = organisations.get_organisation(conn, slug)
    if entry is None:
        abort(404, description=f"there is no organisation {slug!r}")
    return _organisation_form(slug, entry, {})


@blueprint.post("/admin/organisations/<slug>")
@signed_in.admin_required
def update_organisation(slug: str) -> tuple[str, int] | Response:
    entry = _organisation_entry(slug)
    try:
        with database.connection() as conn, conn.transaction():
            if organisations.get_organisation(conn, slug) is None:
                abort(404, description=f"there is no organisation {slug!r}")
            organisations.update_organisation(conn, slug, entry, signed_in.user().administrator())
    except InvalidEntry as invalid:
        return _organisation_form(slug, entry, _errors(invalid.errors)), INVALID
    return redirect(url_for("console.admin", saved=slug))


def _organisation_entry(slug: str) -> dict[str, Any]:
    """The organisation form as an entry for the schema (the slug fixed by the address when
    editing)."""
    entry = {field: request.form.get(field, "") for field in ORGANISATION_LABELS}
    entry["slug"] = slug
    return entry


def _organisation_form(slug: str | None, entry: dict[str, Any], errors: dict[str, str]) -> str:
    """The form that creates an organisation (slug None) or edits one."""
    return render_template(
        "console/admin/organisation_form.html",
        slug=slug,
        entry={field: entry.get(field) or "" for field in ORGANISATION_LABELS},
        errors=errors,
        labels=ORGANISATION_LABELS,
        kinds=[(kind, KIND_NAMES[kind]) for kind in ORGANISATION_KINDS],
    )


# Accounts


@blueprint.get("/admin/accounts")
@signed_in.admin_required
def accounts() -> str:
    chosen = request.args.get("organisation", "")
    with database.connection() as conn:
        choices = queries.list_organisation_slugs(conn)
        if chosen and chosen not in dict(choices):
            abort(404, description=f"there is no organisation {chosen!r}")
        found = users.list_users(conn, chosen or None)
    return render_template(
        "console/admin/accounts.html",
        accounts=[_account_view(row) for row in found],
        organisations=choices,
        chosen=chosen,
        disabled=request.args.get("disabled", type=int),
    )


@blueprint.get("/admin/accounts/new")
@signed_in.admin_required
def new_account() -> str:
    entry = {"organisation": request.args.get("organisation", ""), "role": "engineer"}
    return _account_form(entry, {})


@blueprint.post("/admin/accounts/new")
@signed_in.admin_required
def add_account() -> tuple[str, int]:
    entry = {field: request.form.get(field, "") for field in ACCOUNT_LABELS}
    try:
        with database.connection() as conn, conn.transaction():
            _, secret = users.add_user(
                conn,
                organisation=entry["organisation"],
                email=entry["email"],
                display_name=entry["display_name"],
                role=entry["role"],
                actor=signed_in.user().administrator(),
            )
    except users.AccountError as error:
        return _account_form(entry, {error.field: str(error)}), INVALID
    return _link_page(entry["email"].strip(), secret, added=True), 201


@blueprint.post("/admin/accounts/<int:account_id>/reset")
@signed_in.admin_required
def reset_account(account_id: int) -> str:
    try:
        with database.connection() as conn, conn.transaction():
            email = _account(conn, account_id)["email"]
            secret = users.reset_user(conn, email, actor=signed_in.user().administrator())
    except users.AccountError as error:
        abort(409, description=str(error))
    return _link_page(email, secret, added=False)


@blueprint.get("/admin/accounts/<int:account_id>/disable")
@signed_in.admin_required
def confirm_disable(account_id: int) -> str:
    with database.connection() as conn:
        account = _account_view(_account(conn, account_id))
    return render_template("console/admin/disable.html", account=account, error=None)


@blueprint.post("/admin/accounts/<int:account_id>/disable")
@signed_in.admin_required
def disable_account(account_id: int) -> tuple[str, int] | Response:
    with database.connection() as conn:
        account = _account_view(_account(conn, account_id))
        try:
            with conn.transaction():
                users.disable_user(conn, account["email"], actor=signed_in.user().administrator())
        except users.AccountError as error:
            page = render_template("console/admin/disable.html", account=account, error=str(error))
            return page, 409
    return redirect(url_for("console.accounts", disabled=account_id))


def _account(conn: Conn, account_id: int) -> dict[str, Any]:
    found = users.get_account(conn, account_id)
    if found is None:
        abort(404, description=f"there is no account number {account_id}")
    return found


def _account_view(row: dict[str, Any]) -> dict[str, Any]:
    """An account as the pages show it: never its password hash, only whether it has one."""
    shown = {key: value for key, value in row.items() if key != "password_hash"}
    shown["password_set"] = row["password_hash"] is not None
    shown["is_me"] = row["id"] == signed_in.user().id
    return shown


def _account_form(entry: dict[str, str], errors: dict[str, str]) -> str:
    with database.connection() as conn:
        choices = queries.list_organisation_slugs(conn)
    return render_template(
        "console/admin/account_form.html",
        entry=entry,
        errors=errors,
        labels=ACCOUNT_LABELS,
        organisations=choices,
        roles=list(ROLE_NAMES.items()),
        hours=users.LINK_HOURS,
    )


def _link_page(email: str, secret: str, *, added: bool) -> str:
    """The page that shows a one-time link, once."""
    settings: Settings = current_app.config["LAMPLIGHTER_SETTINGS"]
    return render_template(
        "console/admin/link.html",
        email=email,
        link=password_link(settings, secret, site=request.url_root),
        hours=users.LINK_HOURS,
        added=added,
    )
