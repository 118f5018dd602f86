"""Errors as pages for people and as JSON problems (RFC 9457) for the JSON twins."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)
blueprint = Blueprint("errors", __name__)


def _wants_json() -> bool:
    return request.path.endswith((".json", ".geojson", ".csv")) or request.path.startswith("/api/")


@blueprint.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[Response | str, int]:
    code = error.code or 500
    if _wants_json():
        problem = {
            "type": "about:blank",
            "title": error.name,
            "status": code,
            "detail": error.description,
        }
        response = jsonify(problem)
        response.mimetype = "application/problem+json"
        return response, code
    return render_template("error.html", error=error), code


@blueprint.app_errorhandler(Exception)
def unexpected_error(error: Exception) -> tuple[Response | str, int]:
    log.exception("unexpected error on %s", request.path)
    return http_error(InternalServerError())
