"""Console sign-in: password (argon2), optional TOTP second step, lockout, sign-out, TOTP enrolment.

A TOTP code is accepted once: the time step it belongs to is recorded on the user
(`totp_last_step`), and a code of that step or an earlier one is refused, at sign-in and at
enrolment alike. Turning TOTP on asks for the password again, so a stolen session cookie
can't lock the owner out.
"""

from __future__ import annotations

import hmac
import time
from datetime import timedelta
from typing import Any

import pyotp
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user
from sqlmodel import select
from werkzeug.wrappers import Response

from app.console import bp
from app.db import get_session
from app.queues import get_queues
from app.security import (
    bind_staff_session,
    claim_totp_step,
    end_staff_sessions,
    hash_password,
    session_owner,
    start_staff_session,
    verify_password,
)
from casework.models import Role, StaffUser, utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TOTP_STEP_SECONDS = 300  # how long the second step may wait after a right password
TOTP_ENROL_SECONDS = 600
TOTP_ISSUER = "Tulay"
# One message for every failure: it must not tell an attacker which e-mails exist or which
# accounts are locked.
LOGIN_FAILED = _l(
    "Sign-in failed: the e-mail, password or code is wrong, or the account is locked "
    "for %(minutes)d minutes after %(attempts)d failed attempts.",
    minutes=int(LOCKOUT.total_seconds() // 60),
    attempts=MAX_FAILED_LOGINS,
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
    user.last_login_at = utcnow()
    db = get_session()
    db.add(user)
    db.commit()
    start_staff_session(user)  # a fresh session: nothing set before sign-in survives it (fixation)
    return redirect(_safe_next(next_url))


def normalise_code(raw: str) -> str:
    """A typed code as one string of characters: apps show "797 793", people add spaces."""
    return "".join(raw.split())


def _totp_step(secret: str, code: str) -> int | None:
    """The time step whose code `code` is (the current one, or one either side for clock drift)."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in (now + 1, now, now - 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _accept_totp(user: StaffUser, secret: str, raw_code: str) -> bool:
    """Whether `raw_code` is a code of `secret` from a step later than any accepted before (then recorded)."""
    step = _totp_step(secret, normalise_code(raw_code))
    return step is not None and claim_totp_step(get_session(), user, step)


def _password_confirmed(user: StaffUser, password: str) -> bool:
    """Re-authentication before an account change: a wrong password counts towards the lockout."""
    if _is_locked(user) or not password:  # no password given is no guess: refused, nothing counted
        return False
    if verify_password(user, password):
        return True
    _record_failure(user)
    return False


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
        flash(_("Sign in again: the code step expired."), "error")
        return redirect(url_for("console.login"))
    if request.method == "GET":
        return render_template("console/login_totp.html")
    db = get_session()
    user = db.get(StaffUser, pending["user_id"])
    if user is None or not user.active or not user.totp_secret:
        session.pop("totp_pending", None)
        return redirect(url_for("console.login"))
    code = request.form.get("code", "")[:32]
    if _is_locked(user) or not _accept_totp(user, user.totp_secret, code):
        if not _is_locked(user):
            _record_failure(user)
        return render_template("console/login_totp.html", error=LOGIN_FAILED), 401
    return _complete_login(user, pending["next"])


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    # Every session of this user ends, including copies of this cookie. An idle-expired session
    # still counts, so its owner can end a copy that someone else kept alive.
    user = session_owner(session)
    if user is not None:
        end_staff_sessions(user)
        db = get_session()
        db.add(user)
        db.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("console.login"))


@bp.route("/account/totp", methods=["GET", "POST"])
@login_required
def totp_enrol() -> Any:
    """Show a new secret once (kept server-side in Redis until confirmed), then verify the password and a code."""
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
        flash(_("Start again: the enrolment expired or is already done."), "error")
        return redirect(url_for("console.totp_enrol"))
    secret = stored.decode() if isinstance(stored, bytes) else stored
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
    if not _password_confirmed(user, request.form.get("password", "")[:1024]):
        flash(_("Your password is wrong, or the account is locked. Enter your password to confirm it is you."), "error")
        return render_template("console/totp.html", enrolled=False, secret=secret, uri=uri), 400
    if not _accept_totp(user, secret, request.form.get("code", "")[:32]):
        flash(_("That code does not match. Enter the current 6-digit code from your app."), "error")
        return render_template("console/totp.html", enrolled=False, secret=secret, uri=uri), 400
    user.totp_secret = secret
    end_staff_sessions(user)  # sessions signed in with the password alone end; this one goes on
    db.add(user)
    db.commit()
    bind_staff_session(user)
    redis.delete(key)
    flash(_("Two-step sign-in is on: you will be asked for a code each time you sign in."), "info")
    return redirect(url_for("console.queue"))
