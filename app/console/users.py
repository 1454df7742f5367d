"""Console pages for staff accounts: the admins' `/console/users`, everyone's `/console/account`,
and the public `/console/password-reset/<token>` that a one-time reset link opens.

Every rule is in `casework.staff`; these views parse the form, call it, commit and redirect.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.console import bp
from app.console.auth import _is_locked, _record_failure
from app.db import get_session
from app.labels import code_label
from app.security import (
    MIN_PASSWORD_LENGTH,
    WeakPassword,
    bind_staff_session,
    hash_password,
    role_required,
    verify_password,
)
from casework import staff
from casework.models import Role, StaffUser

PASSWORD_FIELD_LIMIT = 1024

TOO_SHORT = _l("The new password must be at least %(num)d characters. Nothing was changed.", num=MIN_PASSWORD_LENGTH)


def _users_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    users = staff.list_users(get_session())
    return render_template("console/users.html", users=users, roles=list(Role), **extra), status


def _target(user_id: int) -> StaffUser:
    user = get_session().get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


def _admin_change(user_id: int, change: str) -> Any:
    db = get_session()
    user = _target(user_id)
    try:
        if change == "deactivate":
            staff.deactivate(db, user, actor_id=current_user.id)
            message = _("%(email)s is deactivated: their sessions and API tokens have ended.", email=user.email)
        elif change == "reactivate":
            staff.reactivate(db, user, actor_id=current_user.id)
            message = _("%(email)s can sign in again. Their old API tokens stay revoked.", email=user.email)
        elif change == "totp":
            staff.reset_totp(db, user, actor_id=current_user.id)
            message = _("Two-step sign-in is off for %(email)s; they can enrol again.", email=user.email)
        else:
            role = staff.set_role(db, user, request.form.get("role", ""), actor_id=current_user.id)
            message = _("%(email)s is now %(role)s.", email=user.email, role=code_label(role.value))
    except staff.StaffError as exc:
        db.rollback()
        return _users_page(400, error=str(exc))
    db.commit()
    flash(message, "info")
    return redirect(url_for("console.users_page"), code=303)


@bp.route("/users")
@role_required(Role.ADMIN)
def users_page() -> Any:
    """Every staff account, with deactivate, role, TOTP reset and reset-link actions (admins)."""
    return _users_page()


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@role_required(Role.ADMIN)
def user_deactivate(user_id: int) -> Any:
    return _admin_change(user_id, "deactivate")


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@role_required(Role.ADMIN)
def user_reactivate(user_id: int) -> Any:
    return _admin_change(user_id, "reactivate")


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@role_required(Role.ADMIN)
def user_role(user_id: int) -> Any:
    return _admin_change(user_id, "role")


@bp.route("/users/<int:user_id>/totp-reset", methods=["POST"])
@role_required(Role.ADMIN)
def user_totp_reset(user_id: int) -> Any:
    return _admin_change(user_id, "totp")


@bp.route("/users/<int:user_id>/password-reset", methods=["POST"])
@role_required(Role.ADMIN)
def user_password_reset(user_id: int) -> Any:
    """Issue a one-time reset link and show it to the admin once (this answer only, no-store)."""
    db = get_session()
    user = _target(user_id)
    try:
        token, expires_at = staff.issue_password_reset(db, user, actor_id=current_user.id)
    except staff.StaffError as exc:
        db.rollback()
        return _users_page(400, error=str(exc))
    db.commit()
    # From PUBLIC_BASE_URL, never the request's Host header.
    link = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("console.password_reset", token=token)
    return _users_page(reset={"email": user.email, "link": link, "expires_at": expires_at})


def _account_page(status: int = 200, **extra: Any) -> tuple[str, int]:
    db = get_session()
    user = db.get(StaffUser, current_user.id)
    if user is None:
        abort(404)
    tokens = staff.active_api_tokens(db, user)
    return render_template("console/account.html", user=user, tokens=tokens, **extra), status


@bp.route("/account")
@login_required
def account_page() -> Any:
    """One's own account: change the password, see and revoke one's API tokens."""
    return _account_page()


@bp.route("/account/password", methods=["POST"])
@login_required
def account_password() -> Any:
    db = get_session()
    user = db.get(StaffUser, current_user.id)
    if user is None:
        abort(404)
    current = request.form.get("current_password", "")[:PASSWORD_FIELD_LIMIT]
    new = request.form.get("new_password", "")[:PASSWORD_FIELD_LIMIT]
    if new != request.form.get("confirm_password", "")[:PASSWORD_FIELD_LIMIT]:
        return _account_page(400, error=_("The new password and its confirmation differ. Nothing was changed."))
    if _is_locked(user):
        return _account_page(400, error=_("Your account is locked after failed attempts. Nothing was changed."))
    try:
        staff.change_password(
            db,
            user,
            current_password=current,
            new_password=new,
            verify_password=verify_password,
            hash_password=hash_password,
        )
    except staff.WrongPassword:
        db.rollback()
        if current:
            _record_failure(user)  # a wrong current password counts towards the lockout
        return _account_page(400, error=_("Your current password is wrong. Nothing was changed."))
    except WeakPassword:
        db.rollback()
        return _account_page(400, error=str(TOO_SHORT))
    db.commit()
    bind_staff_session(user)  # every other session of the account has ended; this one goes on
    flash(_("Your password is changed. Your other sessions have ended."), "info")
    return redirect(url_for("console.account_page"), code=303)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def account_token_revoke(token_id: int) -> Any:
    db = get_session()
    user = db.get(StaffUser, current_user.id)
    if user is None:
        abort(404)
    try:
        staff.revoke_api_token(db, user, token_id, actor_id=user.id)
    except staff.UnknownToken:
        db.rollback()
        abort(404)  # someone else's token looks the same as one that does not exist
    db.commit()
    flash(_("The API token is revoked: it stops working now."), "info")
    return redirect(url_for("console.account_page"), code=303)


def _reset_refused() -> tuple[str, int]:
    return render_template("console/password_reset.html", valid=False), 404


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def password_reset(token: str) -> Any:
    """Set a new password with a one-time link (public: the token is the proof)."""
    db = get_session()
    try:
        staff.pending_reset(db, token)
    except staff.InvalidResetToken:
        return _reset_refused()
    if request.method == "GET":
        return render_template("console/password_reset.html", valid=True, token=token)
    new = request.form.get("new_password", "")[:PASSWORD_FIELD_LIMIT]
    if new != request.form.get("confirm_password", "")[:PASSWORD_FIELD_LIMIT]:
        error = _("The new password and its confirmation differ. Nothing was changed.")
        return render_template("console/password_reset.html", valid=True, token=token, error=error), 400
    try:
        staff.complete_password_reset(db, token, new, hash_password=hash_password)
    except staff.InvalidResetToken:
        db.rollback()
        return _reset_refused()
    except WeakPassword:
        db.rollback()
        error = str(TOO_SHORT)
        return render_template("console/password_reset.html", valid=True, token=token, error=error), 400
    db.commit()
    flash(_("Your password is set. Sign in with it now."), "info")
    return redirect(url_for("console.login"), code=303)
