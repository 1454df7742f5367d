"""Error responses: JSON for the API and webhooks, a plain page elsewhere; never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException, InternalServerError

from app.db import get_session

log = logging.getLogger(__name__)

_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>{{ code }}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><h1>{{ code }} {{ name }}</h1><p>{{ text }}</p>"""


def wants_json() -> bool:
    path = request.path
    if path.startswith(("/api/", "/channels/", "/healthz")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(code: int, name: str, text: str) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(error=text), code
    return render_template_string(_PAGE, code=code, name=name, text=text), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        return error_response(exc.code or 500, exc.name, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        get_session().rollback()
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(500, InternalServerError.name, "Something went wrong on our side.")
