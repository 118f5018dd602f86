"""API v1's device credentials, for an organisation's API token (`web.api.bearer`): issue a
device's MQTT credential, say whether it has a working one, and revoke it
(`register.credentials.device_credentials`, scoped to the token's organisation there).

The password is in the issuing answer only, which no one may store (`Cache-Control: no-store`):
the register keeps only its hash. Another organisation's device is a 403, an unknown one a
404, and a decommissioned device is given no credential (409).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC

from flask import abort, jsonify
from werkzeug.wrappers import Response

from register.audit import NotAllowed
from register.credentials import device_credentials
from web import database
from web.api import bearer, schemas
from web.api.openapi import Operation, documented
from web.api.routes import blueprint
from web.views.errors import problem

PATH = "/devices/<public_id>/credential"
# What the errors mean for a device's credential, where it differs from any write's.
ERROR_TEXT = {
    403: "The device belongs to another organisation than the token's.",
    409: "The device is decommissioned, and a decommissioned device is given no credential.",
}
NOTHING_TO_REVOKE = "There is no such device, or it has no working credential to revoke."


@contextmanager
def _refusals() -> Iterator[None]:
    """The register's refusals as problems, after the transaction they end has rolled back."""
    try:
        yield
    except device_credentials.UnknownDevice as unknown:
        abort(problem(404, str(unknown)))
    except NotAllowed as refused:
        abort(problem(403, str(refused)))
    except device_credentials.CredentialError as refused:
        abort(problem(409, str(refused)))


@blueprint.post(PATH)
@documented(
    Operation(
        summary="Issue a device's MQTT credential",
        description=(
            "A new MQTT login for a device of the token's organisation: its username is the "
            "device's public id, and its password is in this answer only (the register keeps "
            "only its hash, so no one can show it again; `Cache-Control: no-store`). With it "
            "the device may publish only to its own topics. A working credential it had is "
            "replaced: the old password stops working within seconds."
        ),
        response=schemas.IssuedCredential,
        success=201,
        headers=("Cache-Control",),
        token=True,
        errors=(401, 403, 404, 409),
        error_text=ERROR_TEXT,
        tags=("credentials",),
    )
)
def issue_credential(public_id: str) -> Response:
    token = bearer.token()
    with _refusals(), database.connection() as conn, conn.transaction():
        issued = device_credentials.issue(conn, public_id, token.actor())
    found = {
        "username": issued.username,
        "password": issued.password,
        "replaced": issued.replaced,
        "first": issued.first,
        "topics": list(issued.topics),
    }
    response = jsonify(schemas.IssuedCredential().dump(found))
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get(PATH)
@documented(
    Operation(
        summary="A device's MQTT credential",
        description=(
            "Whether a device of the token's organisation has a working MQTT credential, and "
            "when and by whom it was issued; never its password or hash."
        ),
        response=schemas.Credential,
        token=True,
        errors=(401, 403, 404),
        error_text=ERROR_TEXT,
        tags=("credentials",),
    )
)
def get_credential(public_id: str) -> Response:
    token = bearer.token()
    with _refusals(), database.connection() as conn:
        found = device_credentials.current(conn, public_id, token.actor())
    issued_at = found.issued_at.astimezone(UTC) if found.issued_at is not None else None
    return jsonify(schemas.Credential().dump(replace(found, issued_at=issued_at)))


@blueprint.delete(PATH)
@documented(
    Operation(
        summary="Revoke a device's MQTT credential",
        description=(
            "End the working MQTT credential of a device of the token's organisation: within "
            "seconds the broker refuses its password and disconnects a device still connected "
            "with it. A device without a working credential is a 404."
        ),
        response=None,
        success=204,
        token=True,
        errors=(401, 403, 404),
        error_text={**ERROR_TEXT, 404: NOTHING_TO_REVOKE},
        tags=("credentials",),
    )
)
def revoke_credential(public_id: str) -> Response:
    token = bearer.token()
    with _refusals(), database.connection() as conn, conn.transaction():
        revoked = device_credentials.revoke(conn, public_id, token.actor())
    if not revoked:
        abort(problem(404, f"device {public_id[:80]!r} has no working credential to revoke"))
    return Response(status=204)
