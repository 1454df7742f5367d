"""The JSON API under /api/v1: bearer-token auth, JSON errors, and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, jsonify, request
from werkzeug.exceptions import Unauthorized

from app.api.openapi import build_document
from app.db import get_session
from app.security import csrf, user_for_token
from casework.models import Role, StaffUser

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def api_user() -> StaffUser:
    user: StaffUser = g.api_user
    return user


def _authenticate() -> StaffUser:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 200:
        raise Unauthorized("send an API token: Authorization: Bearer TOKEN")
    user = user_for_token(get_session(), token.strip())
    if user is None:
        raise Unauthorized("the API token is unknown, revoked, or its user is inactive")
    return user


def token_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require a valid bearer token whose user has one of `roles` (401 / 403 otherwise)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            g.api_user = _authenticate()
            if Role(g.api_user.role) not in roles:
                abort(403, description=f"the {g.api_user.role} role may not use this endpoint")
            return view(*args, **kwargs)

        return wrapped

    return decorator


@bp.after_request
def _no_store(response: Response) -> Response:
    # Answers are per token and carry case data: no browser or proxy may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3.1 document of this API."""
    return jsonify(build_document(current_app))


def init_app(app: Flask) -> None:
    from app.api import attachments, cases

    csrf.exempt(bp)  # token-authenticated; no cookies, so no cross-site request forgery
    app.register_blueprint(bp)
    cases.register_openapi(app)
    attachments.register_openapi(app)

    @app.after_request
    def _www_authenticate(response: Any) -> Any:
        if response.status_code == 401 and request.path.startswith("/api/"):
            response.headers.setdefault("WWW-Authenticate", 'Bearer realm="tulay"')
        return response
