"""Error responses: JSON for the API and webhooks, a page in the reader's language elsewhere;
never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.db import get_session
from app.logs import loggable_path
from casework.texts import N_

log = logging.getLogger(__name__)

# What a reader of an HTML page is told, per status code: (title, what to do).
PAGE_TEXTS: dict[int, tuple[str, str]] = {
    400: (N_("Something was not right"), N_("We could not read what was sent. Go back and try again.")),
    403: (N_("Not allowed"), N_("You cannot open this page.")),
    404: (N_("Page not found"), N_("This page does not exist. Check the address.")),
    405: (N_("Something was not right"), N_("We could not read what was sent. Go back and try again.")),
    413: (N_("Too long"), N_("What you sent is too long. Make it shorter and try again.")),
    429: (N_("Too many tries"), N_("Too many tries from this connection. Wait a few minutes and try again.")),
    500: (N_("Something went wrong"), N_("Something went wrong on our side. Please try again later.")),
}
CSRF_TEXT = N_("This form has expired. Go back, reload the page and send it again.")


def wants_json() -> bool:
    path = request.path
    if path.startswith(("/api/", "/channels/", "/healthz")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(code: int, name: str, text: str, page_text: str | None = None) -> tuple[Response | str, int]:
    """JSON `{"error": text}` for machines; for people, a page in their language (`page_text` if given)."""
    if wants_json():
        return jsonify(error=text), code
    title, advice = PAGE_TEXTS.get(code, PAGE_TEXTS[400 if code < 500 else 500])
    return render_template(
        "public/error.html", code=code, title=gettext(title), text=gettext(page_text or advice)
    ), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        page_text = CSRF_TEXT if isinstance(exc, CSRFError) else None
        return error_response(exc.code or 500, exc.name, exc.description or exc.name, page_text)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        get_session().rollback()
        log.exception("unhandled error", extra={"path": loggable_path()})
        return error_response(500, "Internal Server Error", "Something went wrong on our side.")
