"""Console sign-in: passwords, lockout, TOTP, sign-out, safe redirects and CSRF.

Cookie flags of every route are in tests/reliability/test_security_surface.py.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlmodel import Session

from app.console.auth import LOCKOUT, MAX_FAILED_LOGINS
from app.security import hash_password, issue_api_token
from casework.models import Role, StaffUser, utcnow
from tests.app.console_support import (
    PASSWORD,
    login_form,
    make_case,
    reload,
    sign_in,
    staff_with_password,
)


@pytest.fixture
def ombud(db: Session) -> StaffUser:
    return staff_with_password(db, Role.OMBUDSPERSON, "ombud@tulay.test")


def test_console_requires_sign_in_and_redirects_to_login(web: Any) -> None:
    response = web.get("/console/")
    assert response.status_code == 302
    assert "/console/login?next=" in response.headers["Location"]


def test_right_password_signs_in_and_returns_to_console_page(web: Any, ombud: StaffUser) -> None:
    response = login_form(web, "Ombud@Tulay.test ", next="/console/shortcuts")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/shortcuts"
    assert web.get("/console/").status_code == 200


@pytest.mark.parametrize(
    ("label", "target"),
    [
        ("absolute URL", "https://evil.example/"),
        ("scheme-relative", "//evil.example/console"),
        ("outside the console", "/transparency"),
        ("backslash trick", "/console\\..\\evil"),
    ],
)
def test_next_outside_console_is_ignored(web: Any, ombud: StaffUser, label: str, target: str) -> None:
    response = login_form(web, ombud.email, next=target)
    assert response.headers["Location"] == "/console/", label


@pytest.mark.parametrize(
    ("label", "email", "password"),
    [
        ("wrong password", "ombud@tulay.test", "wrong password here"),
        ("unknown e-mail", "nobody@tulay.test", PASSWORD),
        ("empty form", "", ""),
    ],
)
def test_failed_sign_in_says_the_same_thing_and_signs_nobody_in(
    web: Any, ombud: StaffUser, label: str, email: str, password: str
) -> None:
    response = login_form(web, email, password)
    assert response.status_code == 401, label
    assert "Sign-in failed" in response.text
    assert web.get("/console/").status_code == 302


def test_inactive_user_cannot_sign_in(web: Any, db: Session, ombud: StaffUser) -> None:
    ombud.active = False
    db.add(ombud)
    db.commit()
    assert login_form(web, ombud.email).status_code == 401


def test_repeated_failures_lock_the_account_even_against_the_right_password(
    web: Any, db: Session, ombud: StaffUser
) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        assert login_form(web, ombud.email, "wrong password here").status_code == 401
    reload(db, ombud)
    assert ombud.locked_until is not None and ombud.locked_until > utcnow() + LOCKOUT - timedelta(minutes=1)
    assert login_form(web, ombud.email).status_code == 401
    assert web.get("/console/").status_code == 302


def test_lock_expires_and_success_resets_the_counter(web: Any, db: Session, ombud: StaffUser) -> None:
    ombud.locked_until = utcnow() - timedelta(seconds=1)
    ombud.failed_logins = MAX_FAILED_LOGINS - 1
    db.add(ombud)
    db.commit()
    assert login_form(web, ombud.email).status_code == 302
    reload(db, ombud)
    assert (ombud.failed_logins, ombud.locked_until) == (0, None)


def test_totp_enrolment_then_sign_in_needs_a_fresh_code(web: Any, db: Session, ombud: StaffUser) -> None:
    sign_in(web, ombud)
    page = web.get("/console/account/totp")
    secret = page.text.split('<p class="secret"><code>')[1].split("</code>")[0]
    assert len(secret) == 32
    assert web.post("/console/account/totp", data={"code": "000000", "password": PASSWORD}).status_code == 400
    response = web.post("/console/account/totp", data={"code": pyotp.TOTP(secret).now(), "password": PASSWORD})
    assert response.status_code == 302
    reload(db, ombud)
    assert ombud.totp_secret == secret

    web.post("/console/logout")
    first = login_form(web, ombud.email)
    assert first.headers["Location"] == "/console/login/code"
    assert web.get("/console/").status_code == 302, "a password alone must not sign in"
    assert web.post("/console/login/code", data={"code": "123456"}).status_code == 401
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the enrolment's step is spent: the next one
    assert web.post("/console/login/code", data={"code": code}).status_code == 302
    assert web.get("/console/").status_code == 200

    web.post("/console/logout")
    login_form(web, ombud.email)
    assert web.post("/console/login/code", data={"code": code}).status_code == 401, "a used code is refused"


def test_code_step_without_password_step_goes_back_to_login(web: Any) -> None:
    response = web.post("/console/login/code", data={"code": "123456"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/login")


def test_sign_out_ends_the_session(web: Any, ombud: StaffUser) -> None:
    login_form(web, ombud.email)
    assert web.post("/console/logout").status_code == 302
    assert web.get("/console/").status_code == 302


def test_console_pages_send_a_strict_csp_and_no_store(web: Any, ombud: StaffUser) -> None:
    response = web.get("/console/login")
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script" not in response.text and " style=" not in response.text


@pytest.fixture
def csrf_app(make_app: Any) -> Flask:
    return make_app(WTF_CSRF_ENABLED=True)


def test_csrf_every_console_form_without_token_is_refused(csrf_app: Flask) -> None:
    with csrf_app.app_context():
        from app.db import get_session

        db = get_session()
        user = staff_with_password(db, Role.ADMIN, "admin@tulay.test")
        case = make_case(db)
        db.commit()
        reference = case.reference
    web = csrf_app.test_client()
    assert login_form(web, "admin@tulay.test").status_code == 400, "login without a token"
    sign_in(web, user)
    posts = [
        "/console/logout",
        "/console/account/totp",
        f"/console/cases/{reference}/notes",
        f"/console/cases/{reference}/status",
        f"/console/cases/{reference}/assign",
        f"/console/cases/{reference}/triage",
        f"/console/cases/{reference}/triage/confirm",
        f"/console/cases/{reference}/refer",
        f"/console/cases/{reference}/mediation",
        f"/console/cases/{reference}/mediation/1",
        f"/console/cases/{reference}/outcome",
        f"/console/cases/{reference}/reply",
        "/console/inbox/1/read",
        "/console/inbox/read-all",
    ]
    for url in posts:
        response = web.post(url, data={"version": "1", "body": "x", "text": "x", "action": "send"})
        assert response.status_code == 400, url
        assert "This form has expired" in response.text  # the CSRF refusal page


def test_csrf_sign_in_with_the_page_token_works(csrf_app: Flask) -> None:
    with csrf_app.app_context():
        from app.db import get_session

        staff_with_password(get_session(), Role.OMBUDSPERSON, "ombud@tulay.test")
    web = csrf_app.test_client()
    page = web.get("/console/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = login_form(web, "ombud@tulay.test", csrf_token=token)
    assert response.status_code == 302
    queue = web.get("/console/")
    assert queue.status_code == 200
    token = queue.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert web.post("/console/logout", data={"csrf_token": token}).status_code == 302


def test_sign_in_returns_to_the_page_first_asked_for(web: Any, ombud: StaffUser, db: Session) -> None:
    case = make_case(db)
    db.commit()
    asked = web.get(f"/console/cases/{case.reference}")
    login_page = web.get(asked.headers["Location"])
    assert f'name="next" value="/console/cases/{case.reference}"' in login_page.text
    response = login_form(web, ombud.email, next=f"/console/cases/{case.reference}")
    assert response.headers["Location"] == f"/console/cases/{case.reference}"


# --- F2: a TOTP time step is accepted once, however the code is spelled -------------------------


def _step_now(totp: pyotp.TOTP) -> int:
    return int(time.time()) // totp.interval


@pytest.mark.parametrize("spell", [" {c}", "{c} ", "{c3} {c6}", "\t{c}\n"], ids=["lead", "trail", "inner", "tabs"])
def test_a_used_totp_code_is_refused_with_spaces_added(web: Any, db: Session, spell: str) -> None:
    secret = pyotp.random_base32()
    user = staff_with_password(db, Role.OMBUDSPERSON, "otp@tulay.test", totp_secret=secret)
    code = pyotp.TOTP(secret).now()
    login_form(web, user.email)
    assert web.post("/console/login/code", data={"code": code}).status_code == 302
    web.post("/console/logout")

    login_form(web, user.email)
    replay = spell.format(c=code, c3=code[:3], c6=code[3:])
    assert web.post("/console/login/code", data={"code": replay}).status_code == 401
    assert web.get("/console/").status_code == 302


def test_the_enrolment_code_cannot_sign_in(web: Any, db: Session, ombud: StaffUser) -> None:
    sign_in(web, ombud)
    secret = web.get("/console/account/totp").text.split('<p class="secret"><code>')[1].split("</code>")[0]
    code = pyotp.TOTP(secret).now()
    assert web.post("/console/account/totp", data={"code": code, "password": PASSWORD}).status_code == 302
    web.post("/console/logout")

    login_form(web, ombud.email)
    assert web.post("/console/login/code", data={"code": code}).status_code == 401
    assert web.get("/console/").status_code == 302


def test_the_accepted_step_is_kept_in_the_database_for_every_process(web: Any, db: Session) -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    user = staff_with_password(db, Role.OMBUDSPERSON, "otp@tulay.test", totp_secret=secret)
    # Another web process accepted the current step: this one must refuse it, with no shared memory.
    step = _step_now(totp)
    user.totp_last_step = step
    db.add(user)
    db.commit()
    login_form(web, user.email)
    assert web.post("/console/login/code", data={"code": totp.generate_otp(step)}).status_code == 401
    assert web.post("/console/login/code", data={"code": totp.generate_otp(step - 1)}).status_code == 401
    assert web.post("/console/login/code", data={"code": totp.generate_otp(step + 1)}).status_code == 302
    assert reload(db, user).totp_last_step == step + 1


def test_a_code_in_other_digits_is_refused(web: Any, db: Session) -> None:
    secret = pyotp.random_base32()
    user = staff_with_password(db, Role.OMBUDSPERSON, "otp@tulay.test", totp_secret=secret)
    fullwidth = pyotp.TOTP(secret).now().translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    login_form(web, user.email)
    assert web.post("/console/login/code", data={"code": fullwidth}).status_code == 401


# --- F3: signing out, idling and password changes end every copy of a session ------------------


def _copy_session_cookie(web: Any, capp: Flask) -> Any:
    cookie = web.get_cookie(capp.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    thief = capp.test_client()
    thief.set_cookie(cookie.key, cookie.value)
    return thief


def test_a_copied_cookie_dies_at_sign_out(web: Any, capp: Flask, ombud: StaffUser) -> None:
    login_form(web, ombud.email)
    thief = _copy_session_cookie(web, capp)
    assert thief.get("/console/").status_code == 200
    assert web.post("/console/logout").status_code == 302
    assert thief.get("/console/").status_code == 302
    assert login_form(web, ombud.email).status_code == 302, "the owner signs in again"
    assert thief.get("/console/").status_code == 302, "the old copy stays dead"


def test_an_idle_session_ends_on_the_server(web: Any, ombud: StaffUser) -> None:
    login_form(web, ombud.email)
    with web.session_transaction() as flask_session:
        flask_session["last_seen"] = int(time.time()) - 29 * 60
    assert web.get("/console/").status_code == 200, "29 minutes idle is within the default 30"
    with web.session_transaction() as flask_session:
        flask_session["last_seen"] = int(time.time()) - 31 * 60
    response = web.get("/console/")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_a_session_ends_after_its_lifetime_however_active(web: Any, capp: Flask, ombud: StaffUser) -> None:
    assert capp.permanent_session_lifetime == timedelta(hours=8), "the signed cookie itself expires too"
    login_form(web, ombud.email)
    with web.session_transaction() as flask_session:
        flask_session["signed_in_at"] = int(time.time()) - 8 * 3600 - 60
        flask_session["last_seen"] = int(time.time())
    assert web.get("/console/").status_code == 302


def test_idle_and_lifetime_follow_the_settings(make_app: Any) -> None:
    application = make_app(CONSOLE_IDLE_MINUTES=5, CONSOLE_SESSION_HOURS=1)
    assert application.permanent_session_lifetime == timedelta(hours=1)
    with application.app_context():
        from app.db import get_session

        user = staff_with_password(get_session(), Role.OMBUDSPERSON, "ombud@tulay.test")
        email = user.email
    web = application.test_client()
    login_form(web, email)
    with web.session_transaction() as flask_session:
        flask_session["last_seen"] = int(time.time()) - 6 * 60
    assert web.get("/console/").status_code == 302


def test_a_session_without_sign_in_times_is_refused(web: Any, ombud: StaffUser) -> None:
    # What Flask-Login alone writes (and what cookies minted before these checks hold).
    with web.session_transaction() as flask_session:
        flask_session["_user_id"] = str(ombud.id)
        flask_session["_fresh"] = True
    assert web.get("/console/").status_code == 302


def test_a_remember_me_cookie_does_not_resurrect_a_session(web: Any, capp: Flask, ombud: StaffUser) -> None:
    login_form(web, ombud.email)
    web.post("/console/logout")
    with capp.test_request_context():
        from flask_login.utils import encode_cookie

        remember = encode_cookie(str(ombud.id))
    web.set_cookie(capp.config.get("REMEMBER_COOKIE_NAME", "remember_token"), remember)
    assert web.get("/console/").status_code == 302


def test_a_password_change_or_deactivation_ends_every_session(
    web: Any, capp: Flask, db: Session, ombud: StaffUser
) -> None:
    login_form(web, ombud.email)
    ombud.password_hash = hash_password("a different long password")
    db.add(ombud)
    db.commit()
    assert web.get("/console/").status_code == 302, "a password change signs every session out"

    assert login_form(web, ombud.email, "a different long password").status_code == 302
    ombud.active = False
    db.add(ombud)
    db.commit()
    ombud.active = True
    db.add(ombud)
    db.commit()
    assert web.get("/console/").status_code == 302, "reactivating does not revive the old sessions"


def test_totp_enrolment_needs_the_password_again(web: Any, capp: Flask, db: Session, ombud: StaffUser) -> None:
    login_form(web, ombud.email)
    thief = _copy_session_cookie(web, capp)
    secret = thief.get("/console/account/totp").text.split('<p class="secret"><code>')[1].split("</code>")[0]
    code = pyotp.TOTP(secret).now()
    assert thief.post("/console/account/totp", data={"code": code}).status_code == 400
    wrong = thief.post("/console/account/totp", data={"code": code, "password": "not the password at all"})
    assert wrong.status_code == 400
    assert "password" in wrong.text.lower()
    reload(db, ombud)
    assert ombud.totp_secret is None, "a stolen cookie alone cannot turn on TOTP and lock the owner out"
    assert ombud.failed_logins == 1, "a wrong password here counts towards the lockout"
    ok = web.post("/console/account/totp", data={"code": code, "password": PASSWORD})
    assert ok.status_code == 302
    assert reload(db, ombud).totp_secret == secret
    assert web.get("/console/").status_code == 200, "the session that turned TOTP on goes on"
    assert thief.get("/console/").status_code == 302, "sessions signed in with the password alone end"


def test_sign_out_leaves_api_tokens_working(web: Any, db: Session, ombud: StaffUser) -> None:
    token = issue_api_token(db, ombud)
    db.commit()
    login_form(web, ombud.email)
    web.post("/console/logout")
    assert web.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200
