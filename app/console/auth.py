"""Console sign-in: password (argon2), optional TOTP second step, lockout, sign-out, TOTP enrolment."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pyotp
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlmodel import select
from werkzeug.wrappers import Response

from app.console import bp
from app.db import get_session
from app.queues import get_queues
from app.security import StaffSessionUser, hash_password, verify_password
from casework.models import Role, StaffUser, utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TOTP_STEP_SECONDS = 300  # how long the second step may wait after a right password
TOTP_ENROL_SECONDS = 600
TOTP_ISSUER = "Tulay"
# One message for every failure: it must not tell an attacker which e-mails exist or which
# accounts are locked.
LOGIN_FAILED = (
    "Sign-in failed: the e-mail, password or code is wrong, or the account is locked "
    f"for {int(LOCKOUT.total_seconds() // 60)} minutes after {MAX_FAILED_LOGINS} failed attempts."
)
# Verified against when the e-mail is unknown, so a miss costs as much time as a hit.
_DUMMY_HASH = hash_password("not-a-real-password-for-timing")


def _safe_next(target: str | None) -> str:
    """Only a console path of ours is a valid place to return to (no open redirect)."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.queue")


def _is_locked(user: StaffUser) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def _record_failure(user: StaffUser) -> None:
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = utcnow() + LOCKOUT
        user.failed_logins = 0
    get_session().add(user)
    get_session().commit()


def _complete_login(user: StaffUser, next_url: str | None) -> Response:
    user.failed_logins = 0
    user.locked_until = None
    db = get_session()
    db.add(user)
    db.commit()
    session.clear()  # a fresh session: nothing set before sign-in survives it (fixation)
    login_user(StaffSessionUser(user))
    return redirect(_safe_next(next_url))


def _totp_code_fresh(user_id: int, code: str) -> bool:
    """A code is accepted once: replaying a seen code within its window is refused."""
    key = f"tulay:totp-used:{user_id}:{code}"
    return bool(get_queues().connection.set(key, b"1", nx=True, ex=120))


def _check_totp(secret: str, code: str) -> bool:
    code = code.strip().replace(" ", "")
    return code.isdigit() and len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("console.queue"))
    next_url = request.values.get("next")
    if request.method == "GET":
        return render_template("console/login.html", next_url=next_url)
    email = request.form.get("email", "").strip().lower()[:254]
    password = request.form.get("password", "")[:1024]
    db = get_session()
    # No address holds a control character, and PostgreSQL refuses a NUL in a query: such an
    # e-mail matches no one (and costs the same time as any unknown one).
    known = email and email.isprintable()
    user = db.exec(select(StaffUser).where(StaffUser.email == email)).first() if known else None
    if user is None or not user.active:
        verify_password(StaffUser(email="", role=Role.ADMIN, password_hash=_DUMMY_HASH), password)
        return render_template("console/login.html", next_url=next_url, error=LOGIN_FAILED, email=email), 401
    password_ok = verify_password(user, password)  # checked even when locked: same time either way
    if _is_locked(user) or not password_ok:
        if not _is_locked(user):
            _record_failure(user)
        return render_template("console/login.html", next_url=next_url, error=LOGIN_FAILED, email=email), 401
    if user.totp_secret:
        session.clear()
        session["totp_pending"] = {"user_id": user.id, "at": int(time.time()), "next": _safe_next(next_url)}
        return redirect(url_for("console.login_totp"))
    return _complete_login(user, next_url)


@bp.route("/login/code", methods=["GET", "POST"])
def login_totp() -> Any:
    pending = session.get("totp_pending")
    if not pending or time.time() - pending["at"] > TOTP_STEP_SECONDS:
        session.pop("totp_pending", None)
        flash("Sign in again: the code step expired.", "error")
        return redirect(url_for("console.login"))
    if request.method == "GET":
        return render_template("console/login_totp.html")
    db = get_session()
    user = db.get(StaffUser, pending["user_id"])
    if user is None or not user.active or not user.totp_secret:
        session.pop("totp_pending", None)
        return redirect(url_for("console.login"))
    code = request.form.get("code", "")[:16]
    if _is_locked(user) or not _check_totp(user.totp_secret, code) or not _totp_code_fresh(user.id or 0, code):
        if not _is_locked(user):
            _record_failure(user)
        return render_template("console/login_totp.html", error=LOGIN_FAILED), 401
    return _complete_login(user, pending["next"])


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("console.login"))


@bp.route("/account/totp", methods=["GET", "POST"])
@login_required
def totp_enrol() -> Any:
    """Show a new secret once (kept server-side in Redis until confirmed), then verify a code."""
    db = get_session()
    user = db.get(StaffUser, current_user.id)
    if user is None:
        abort(404)
    redis = get_queues().connection
    key = f"tulay:totp-enrol:{user.id}"
    if request.method == "GET":
        if user.totp_secret:
            return render_template("console/totp.html", enrolled=True)
        secret = pyotp.random_base32()
        redis.set(key, secret.encode(), ex=TOTP_ENROL_SECONDS)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
        return render_template("console/totp.html", enrolled=False, secret=secret, uri=uri)
    stored = redis.get(key)
    if user.totp_secret or stored is None:
        flash("Start again: the enrolment expired or is already done.", "error")
        return redirect(url_for("console.totp_enrol"))
    secret = stored.decode() if isinstance(stored, bytes) else stored
    if not _check_totp(secret, request.form.get("code", "")[:16]):
        flash("That code does not match. Enter the current 6-digit code from your app.", "error")
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
        return render_template("console/totp.html", enrolled=False, secret=secret, uri=uri), 400
    user.totp_secret = secret
    db.add(user)
    db.commit()
    redis.delete(key)
    flash("Two-step sign-in is on: you will be asked for a code each time you sign in.", "info")
    return redirect(url_for("console.queue"))
