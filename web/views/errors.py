"""Errors as pages for people and as JSON problems (RFC 9457) for the JSON twins."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from flask import Blueprint, abort, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from web import signed_in

log = logging.getLogger(__name__)
blueprint = Blueprint("errors", __name__)


def _route() -> str:
    """The request's route for the log, not its path: a path may hold a one-time link's secret."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def _wants_json() -> bool:
    return request.path.endswith((".json", ".geojson", ".csv")) or request.path.startswith("/api/")


@blueprint.before_app_request
def refuse_nul_characters() -> None:
    """PostgreSQL text cannot hold a NUL character, so no path or parameter may carry one."""
    if "\x00" in request.path or any("\x00" in k + v for k, v in request.args.items(multi=True)):
        abort(400, description="the address holds a NUL character (%00), which is never valid")
    if request.method == "POST" and any("\x00" in k + v for k, v in request.form.items(multi=True)):
        abort(400, description="the form holds a NUL character, which is never valid")


def problem(
    status: int,
    detail: str | None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem; `errors` names each bad field (the API's writes)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Unknown Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    response.headers.update(headers or {})
    return response


@blueprint.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[Response | str, int]:
    code = error.code or 500
    if _wants_json():
        return problem(code, error.description), code
    return render_template(_error_page(code), error=error), code


def _error_page(code: int) -> str:
    """A console page's error keeps the console around it for the person signed in (a refusal
    should not look like being signed out); every other error page is the public one."""
    if code < 500 and request.path.startswith("/console") and signed_in.known_user():
        return "console/error.html"
    return "error.html"


@blueprint.app_errorhandler(psycopg.errors.QueryCanceled)
def too_slow(error: psycopg.errors.QueryCanceled) -> tuple[Response | str, int]:
    log.warning("statement cancelled on %s: %s", _route(), error)
    return http_error(
        ServiceUnavailable(
            description="the database took too long to answer; ask for less (a shorter range, "
            "wider buckets, fewer devices a page)"
        )
    )


@blueprint.app_errorhandler(Exception)
def unexpected_error(error: Exception) -> tuple[Response | str, int]:
    log.exception("unexpected error on %s", _route())
    return http_error(InternalServerError())
