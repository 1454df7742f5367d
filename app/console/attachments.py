"""Evidence attachments on the console: a stored file, decrypted on the fly, for staff who may see its case."""

from __future__ import annotations

from flask import Response, abort
from flask_login import current_user

from app.console import bp
from app.db import get_session
from app.media import attachment_response
from app.security import role_required
from casework.access import CASE_ROLES, can_view_case
from casework.attachments import find_case_attachment
from casework.worklist import find_case


@bp.route("/cases/<reference>/attachments/<int:attachment_id>")
@role_required(*CASE_ROLES)
def case_attachment(reference: str, attachment_id: int) -> Response:
    """One attachment of a case; 404 (revealing nothing) where the user may not see the case."""
    db = get_session()
    case = find_case(db, reference)
    if case is None or not can_view_case(current_user, case):
        abort(404)
    attachment = find_case_attachment(db, case, attachment_id)
    if attachment is None:
        abort(404)
    return attachment_response(db, case, attachment, current_user.id, via="console")
