"""The staff console (`/console`): server-rendered pages for the queue, cases, and sign-in.

Pages only: every rule (access, transitions, routing, mediation) lives in `casework/`; views
parse the form, call the domain, commit, and redirect. No inline scripts or styles, so a
strict Content-Security-Policy holds.
"""

from __future__ import annotations

from flask import Blueprint, Response

from app.security import login_manager

bp = Blueprint("console", __name__, url_prefix="/console")

# No script at all, styles only from our own static files: a stored script can't run even if
# an escaping bug let one through.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@bp.record_once
def _use_console_login(_state: object) -> None:
    login_manager.login_view = "console.login"  # type: ignore[assignment]


@bp.after_request
def _security_headers(response: Response) -> Response:
    # The other security headers come from app/headers.py, which keeps this stricter policy.
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    # Case pages hold personal data: never keep them in a shared browser's cache.
    response.headers["Cache-Control"] = "no-store"
    return response


from app.console import attachments, auth, inbox, mediation, users, views  # noqa: E402,F401 - registers the routes on bp
