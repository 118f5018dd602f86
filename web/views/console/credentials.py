"""`/console/devices/<id>/credential`: a device's MQTT credential
(`register.credentials.device_credentials`). Issuing one shows its password once, on a page no
one stores; revoking it asks to confirm first. The device's edit page shows whether it has a
working one (`state`).

Only engineers of the device's organisation see or change it: another organisation's device is
a 403, an unknown one a 404, and a decommissioned device is given none (409).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

from flask import abort, redirect, render_template, url_for
from werkzeug.wrappers import Response

from register.audit import NotAllowed
from register.credentials import device_credentials
from register.credentials.device_credentials import Current
from web import database, signed_in
from web.views.console import blueprint
from web.views.console.tokens import as_sentence

SECTION = "mqtt-credential"


@contextmanager
def _refusals() -> Iterator[None]:
    """The register's refusals as the console's error pages."""
    try:
        yield
    except device_credentials.UnknownDevice as unknown:
        abort(404, description=as_sentence(unknown))
    except NotAllowed as refused:
        abort(403, description=as_sentence(refused))
    except device_credentials.CredentialError as refused:
        abort(409, description=as_sentence(refused))


def state(public_id: str) -> dict[str, Any]:
    """The device's credential as its edit page shows it: working or not, issued when and by
    whom (the device is the signed-in engineer's, checked again here)."""
    with _refusals(), database.connection() as conn:
        found = device_credentials.current(conn, public_id, signed_in.user().actor())
        first = device_credentials.none_in_register(conn)
    return {**_shown(found), "first": first}


def _shown(found: Current) -> dict[str, Any]:
    issued_at = found.issued_at.astimezone(UTC) if found.issued_at is not None else None
    return {
        "username": found.username,
        "active": found.active,
        "issued": f"{issued_at:%-d %B %Y, %H:%M} UTC" if issued_at is not None else "",
        "issued_by": found.issued_by or "",
    }


@blueprint.post("/devices/<public_id>/credential")
@signed_in.required
def credential_issue(public_id: str) -> str:
    with _refusals(), database.connection() as conn, conn.transaction():
        issued = device_credentials.issue(conn, public_id, signed_in.user().actor())
    # Shown in this answer only (never stored, as the console's pages never are): never in an
    # address, a redirect or a log.
    return render_template(
        "console/credential_issued.html",
        issued=issued,
        topics=issued.topics,
    )


@blueprint.get("/devices/<public_id>/credential/revoke")
@signed_in.required
def credential_revoke(public_id: str) -> str:
    return render_template("console/credential_revoke.html", credential=state(public_id))


@blueprint.post("/devices/<public_id>/credential/revoke")
@signed_in.required
def credential_revoke_post(public_id: str) -> Response:
    with _refusals(), database.connection() as conn, conn.transaction():
        revoked = device_credentials.revoke(conn, public_id, signed_in.user().actor())
    done = "revoked" if revoked else "none"
    return redirect(
        url_for("console.device_edit", public_id=public_id, credential=done, _anchor=SECTION)
    )
