"""Console sign-in: passwords, lockout, TOTP, sign-out, safe redirects and CSRF.

Cookie flags of every route are in tests/reliability/test_security_surface.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlmodel import Session

from app.console.auth import LOCKOUT, MAX_FAILED_LOGINS
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
    assert web.post("/console/account/totp", data={"code": "000000"}).status_code == 400
    response = web.post("/console/account/totp", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    reload(db, ombud)
    assert ombud.totp_secret == secret

    web.post("/console/logout")
    first = login_form(web, ombud.email)
    assert first.headers["Location"] == "/console/login/code"
    assert web.get("/console/").status_code == 302, "a password alone must not sign in"
    assert web.post("/console/login/code", data={"code": "123456"}).status_code == 401
    code = pyotp.TOTP(secret).now()
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
        reference, user_id = case.reference, user.id
    web = csrf_app.test_client()
    assert login_form(web, "admin@tulay.test").status_code == 400, "login without a token"
    with web.session_transaction() as flask_session:
        flask_session["_user_id"] = str(user_id)
    posts = [
        "/console/logout",
        "/console/account/totp",
        f"/console/cases/{reference}/notes",
        f"/console/cases/{reference}/status",
        f"/console/cases/{reference}/assign",
        f"/console/cases/{reference}/refer",
        f"/console/cases/{reference}/mediation",
        f"/console/cases/{reference}/mediation/1",
        f"/console/cases/{reference}/outcome",
        f"/console/cases/{reference}/reply",
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
