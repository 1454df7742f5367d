"""The staff inbox (`/console/inbox`): a user's own notifications, and marking them read.

Only the recipient sees or marks a notification; anyone else's is a 404. The nav's unread
count comes from `inbox_unread`, called by the console's base template.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required

from app.console import bp
from app.db import get_session
from casework.notifications import NotificationNotFound, inbox, mark_all_read, mark_read, unread_count


@bp.app_context_processor
def _inbox_unread() -> dict[str, Any]:
    def inbox_unread() -> int:
        if not current_user.is_authenticated:
            return 0
        return unread_count(get_session(), current_user.id)

    return {"inbox_unread": inbox_unread}


@bp.route("/inbox")
@login_required
def inbox_page() -> str:
    db = get_session()
    items = inbox(db, current_user.id)
    return render_template("console/inbox.html", items=items, unread=unread_count(db, current_user.id))


@bp.route("/inbox/<int:notification_id>/read", methods=["POST"])
@login_required
def inbox_mark_read(notification_id: int) -> Any:
    db = get_session()
    try:
        mark_read(db, current_user.id, notification_id)
    except NotificationNotFound:
        db.rollback()
        abort(404)
    db.commit()
    return redirect(url_for("console.inbox_page"), code=303)


@bp.route("/inbox/read-all", methods=["POST"])
@login_required
def inbox_mark_all_read() -> Any:
    db = get_session()
    count = mark_all_read(db, current_user.id)
    db.commit()
    if count:
        flash(ngettext("%(num)d notification marked read.", "%(num)d notifications marked read.", count), "info")
    return redirect(url_for("console.inbox_page"), code=303)
