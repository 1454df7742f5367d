"""Staff account management in the console: /console/users (admins), /console/account (everyone),
/console/password-reset/<token> (public, one-time). Real database, real sessions and tokens."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, col, select

from app.db import get_session_factory
from app.security import issue_api_token, verify_password
from casework import staff
from casework.models import ApiToken, CaseEvent, PasswordReset, Role, StaffUser, utcnow
from tests.app.console_support import PASSWORD, fetch, login_form, only, reload, sign_in, staff_with_password

NEW_PASSWORD = "a brand new passphrase 42"


def _admin(db: Session, email: str = "admin@tulay.test") -> StaffUser:
    return staff_with_password(db, Role.ADMIN, email)


def _staff_events(db: Session) -> list[CaseEvent]:
    return fetch(db, select(CaseEvent).where(col(CaseEvent.action).startswith("staff_")).order_by(col(CaseEvent.id)))


def _reset_link(html: str) -> str:
    found = re.search(r"https?://[^\s<\"]+/console/password-reset/(tlr_[\w-]+)", html)
    assert found, "no reset link on the page"
    return found.group(1)


def _signed_in_worker(capp: Flask, db: Session) -> tuple[StaffUser, FlaskClient, dict[str, str]]:
    """An ombudsperson signed in in one client, and the headers of their API token."""
    worker = staff_with_password(db, Role.OMBUDSPERSON, "omb@tulay.test")
    token = issue_api_token(db, worker)
    db.commit()
    return worker, sign_in(capp.test_client(), worker), {"Authorization": f"Bearer {token}"}


def test_deactivation_ends_a_signed_in_session_and_an_api_token_at_once(capp: Flask, db: Session) -> None:
    admin = _admin(db)
    worker, theirs, api_headers = _signed_in_worker(capp, db)
    assert theirs.get("/console/").status_code == 200
    assert capp.test_client().get("/api/v1/cases", headers=api_headers).status_code == 200

    response = sign_in(capp.test_client(), admin).post(f"/console/users/{worker.id}/deactivate")
    assert response.status_code == 303

    # The very next request of the signed-in session is refused, and so is the token.
    after = theirs.get("/console/")
    assert after.status_code == 302 and "/console/login" in after.headers["Location"]
    assert capp.test_client().get("/api/v1/cases", headers=api_headers).status_code == 401
    assert reload(db, worker).active is False
    assert all(row.revoked_at is not None for row in fetch(db, select(ApiToken).where(ApiToken.user_id == worker.id)))
    assert login_form(capp.test_client(), "omb@tulay.test").status_code == 401
    (event,) = _staff_events(db)
    assert (event.action, event.actor_id, event.case_id) == ("staff_deactivated", admin.id, None)
    assert event.detail == {"user_id": worker.id, "tokens_revoked": 1}


def test_reactivation_lets_the_account_sign_in_again_and_nothing_old_comes_back(capp: Flask, db: Session) -> None:
    admin = _admin(db)
    worker, old_session, api_headers = _signed_in_worker(capp, db)
    client = sign_in(capp.test_client(), admin)
    client.post(f"/console/users/{worker.id}/deactivate")
    assert client.post(f"/console/users/{worker.id}/reactivate").status_code == 303
    assert reload(db, worker).active is True
    assert login_form(capp.test_client(), "omb@tulay.test").status_code == 302  # the password works again
    # the session and the token deactivation ended stay ended
    assert old_session.get("/console/").status_code == 302
    assert capp.test_client().get("/api/v1/cases", headers=api_headers).status_code == 401
    again = client.post(f"/console/users/{worker.id}/reactivate")
    assert again.status_code == 400 and "already active" in again.text
    actions = [(e.action, e.actor_id, e.detail) for e in _staff_events(db)]
    assert actions == [
        ("staff_deactivated", admin.id, {"user_id": worker.id, "tokens_revoked": 1}),
        ("staff_reactivated", admin.id, {"user_id": worker.id}),
    ]


def test_a_reset_link_works_once_and_only_its_hash_is_stored(
    capp: Flask, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    admin = _admin(db)
    worker = staff_with_password(db, Role.MEDIATOR, "med@tulay.test")
    theirs = sign_in(capp.test_client(), worker)
    assert theirs.get("/console/").status_code == 200

    page = sign_in(capp.test_client(), admin).post(f"/console/users/{worker.id}/password-reset")
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    token = _reset_link(page.text)
    row = only(db, select(PasswordReset))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert admin.email not in str([e.detail for e in _staff_events(db)])
    assert token not in sign_in(capp.test_client(), admin).get("/console/users").text  # the link is shown once

    public = capp.test_client()
    assert public.get(f"/console/password-reset/{token}").status_code == 200
    mismatch = public.post(
        f"/console/password-reset/{token}", data={"new_password": NEW_PASSWORD, "confirm_password": "other"}
    )
    assert mismatch.status_code == 400 and verify_password(reload(db, worker), PASSWORD)
    weak = public.post(f"/console/password-reset/{token}", data={"new_password": "short", "confirm_password": "short"})
    assert weak.status_code == 400 and verify_password(reload(db, worker), PASSWORD)  # and the link still works

    done = public.post(
        f"/console/password-reset/{token}", data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/console/login")
    assert verify_password(reload(db, worker), NEW_PASSWORD)
    assert theirs.get("/console/").status_code == 302  # the old session ended with the old password
    assert login_form(capp.test_client(), "med@tulay.test", NEW_PASSWORD).status_code == 302

    # Used: the same link is refused, and changes nothing.
    again = capp.test_client().post(
        f"/console/password-reset/{token}", data={"new_password": PASSWORD + "x", "confirm_password": PASSWORD + "x"}
    )
    assert again.status_code == 404 and "not valid" in again.text
    assert capp.test_client().get(f"/console/password-reset/{token}").status_code == 404
    assert verify_password(reload(db, worker), NEW_PASSWORD)
    actions = [e.action for e in _staff_events(db)]
    assert actions == ["staff_password_reset_issued", "staff_password_reset_completed"]
    logged = [r.getMessage() + str(getattr(r, "path", "")) for r in caplog.records if r.name == "tulay.request"]
    assert any("/console/password-reset/<token>" in line for line in logged), "the request log names the route"
    assert not any(token in line for line in logged), "the reset token reached the request log"


def test_an_expired_unknown_or_superseded_reset_link_is_refused(capp: Flask, db: Session) -> None:
    worker = staff_with_password(db, Role.MEDIATOR, "med@tulay.test")
    expired, _ = staff.issue_password_reset(db, worker, actor_id=None, now=utcnow() - timedelta(hours=2))
    db.commit()
    form = {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    client = capp.test_client()
    for token in (expired, "tlr_" + "A" * 43, "nonsense", "tlr_" + "x" * 500):
        assert client.get(f"/console/password-reset/{token}").status_code == 404, token
        assert client.post(f"/console/password-reset/{token}", data=form).status_code == 404, token
    first, _ = staff.issue_password_reset(db, worker, actor_id=None)
    second, _ = staff.issue_password_reset(db, worker, actor_id=None)
    db.commit()
    assert client.post(f"/console/password-reset/{first}", data=form).status_code == 404  # superseded
    assert verify_password(reload(db, worker), PASSWORD)
    staff.deactivate(db, worker, actor_id=None)
    db.commit()
    assert client.post(f"/console/password-reset/{second}", data=form).status_code == 404  # account deactivated
    assert verify_password(reload(db, worker), PASSWORD)


def test_changing_ones_password_needs_the_current_one(capp: Flask, db: Session) -> None:
    user = staff_with_password(db, Role.ANALYST, "analyst@tulay.test")
    other_session = sign_in(capp.test_client(), user)
    web = sign_in(capp.test_client(), user)
    form = {"current_password": "wrong password!!", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    refused = web.post("/console/account/password", data=form)
    assert refused.status_code == 400 and "current password is wrong" in refused.text
    user = reload(db, user)
    assert verify_password(user, PASSWORD) and user.failed_logins == 1  # counts towards the lockout
    assert other_session.get("/console/account").status_code == 200

    done = web.post("/console/account/password", data={**form, "current_password": PASSWORD})
    assert done.status_code == 303
    assert verify_password(reload(db, user), NEW_PASSWORD)
    assert web.get("/console/account").status_code == 200  # the session that changed it goes on
    assert other_session.get("/console/account").status_code == 302  # every other one ended
    assert [e.action for e in _staff_events(db)] == ["staff_password_changed"]


def test_a_user_sees_and_revokes_their_own_api_tokens_only(capp: Flask, db: Session) -> None:
    user = staff_with_password(db, Role.OMBUDSPERSON, "omb@tulay.test")
    other = staff_with_password(db, Role.OMBUDSPERSON, "other@tulay.test")
    token = issue_api_token(db, user)
    issue_api_token(db, other)
    db.commit()
    mine = only(db, select(ApiToken).where(ApiToken.user_id == user.id))
    theirs = only(db, select(ApiToken).where(ApiToken.user_id == other.id))
    web = sign_in(capp.test_client(), user)
    page = web.get("/console/account")
    assert f"#{mine.id}" in page.text and f"Revoke #{theirs.id}" not in page.text and token not in page.text

    assert web.post(f"/console/account/tokens/{theirs.id}/revoke").status_code == 404
    assert reload(db, theirs).revoked_at is None
    assert web.post(f"/console/account/tokens/{mine.id}/revoke").status_code == 303
    headers = {"Authorization": f"Bearer {token}"}
    assert capp.test_client().get("/api/v1/cases", headers=headers).status_code == 401
    assert web.post(f"/console/account/tokens/{mine.id}/revoke").status_code == 404  # already revoked
    assert "You have no API tokens" in web.get("/console/account").text


def test_only_admins_reach_the_users_page_and_a_refused_post_changes_nothing(capp: Flask, db: Session) -> None:
    target = staff_with_password(db, Role.MEDIATOR, "med@tulay.test", totp_secret="JBSWY3DPEHPK3PXP")
    for role in (Role.OMBUDSPERSON, Role.MEDIATOR, Role.ANALYST):
        web = sign_in(capp.test_client(), staff_with_password(db, role, f"{role.value}@tulay.test"))
        assert web.get("/console/users").status_code == 403
        for action in ("deactivate", "totp-reset", "password-reset", "role"):
            assert web.post(f"/console/users/{target.id}/{action}", data={"role": "admin"}).status_code == 403
        assert "/console/users" not in web.get("/console/").text  # no nav link either
    target = reload(db, target)
    assert (target.active, target.role, target.totp_secret) == (True, Role.MEDIATOR, "JBSWY3DPEHPK3PXP")
    assert fetch(db, select(PasswordReset)) == [] and _staff_events(db) == []
    anonymous = capp.test_client().get("/console/users")
    assert anonymous.status_code == 302 and "/console/login" in anonymous.headers["Location"]


def test_admin_changes_a_role_and_resets_totp(capp: Flask, db: Session) -> None:
    admin = _admin(db)
    worker = staff_with_password(db, Role.ANALYST, "analyst@tulay.test", totp_secret="JBSWY3DPEHPK3PXP")
    theirs = sign_in(capp.test_client(), worker)
    assert theirs.get("/console/users").status_code == 403
    web = sign_in(capp.test_client(), admin)
    assert web.post(f"/console/users/{worker.id}/role", data={"role": "wizard"}).status_code == 400
    assert reload(db, worker).role == Role.ANALYST
    assert web.post(f"/console/users/{worker.id}/role", data={"role": "admin"}).status_code == 303
    assert theirs.get("/console/users").status_code == 200  # the new role applies from the next request
    assert web.post(f"/console/users/{worker.id}/totp-reset").status_code == 303
    assert reload(db, worker).totp_secret is None
    assert theirs.get("/console/").status_code == 302  # a TOTP reset ends the account's sessions
    assert web.post("/console/users/999999/deactivate").status_code == 404
    events = _staff_events(db)
    assert [(e.action, e.detail) for e in events] == [
        ("staff_role_changed", {"user_id": worker.id, "old_role": "analyst", "new_role": "admin"}),
        ("staff_totp_reset", {"user_id": worker.id, "was_on": True}),
    ]


def test_the_last_active_admin_can_be_neither_deactivated_nor_demoted(capp: Flask, db: Session) -> None:
    admin = _admin(db)
    web = sign_in(capp.test_client(), admin)
    assert web.post(f"/console/users/{admin.id}/deactivate").status_code == 400
    assert web.post(f"/console/users/{admin.id}/role", data={"role": "analyst"}).status_code == 400
    admin = reload(db, admin)
    assert (admin.active, admin.role) == (True, Role.ADMIN)
    assert _staff_events(db) == []


def test_the_users_page_lists_accounts_without_secrets(capp: Flask, db: Session) -> None:
    admin = _admin(db)
    worker = staff_with_password(db, Role.MEDIATOR, "med@tulay.test")
    enrolled = staff_with_password(db, Role.ANALYST, "two@tulay.test", totp_secret="JBSWY3DPEHPK3PXP")
    issue_api_token(db, worker)
    db.commit()
    assert login_form(capp.test_client(), "med@tulay.test").status_code == 302  # a sign-in: last login set
    signed_in_at = reload(db, worker).last_login_at
    assert signed_in_at is not None
    page = sign_in(capp.test_client(), admin).get("/console/users").text
    assert "med@tulay.test" in page and "two@tulay.test" in page and "never" in page
    assert signed_in_at.strftime("%Y-%m-%d %H:%M") in page
    assert "<dt>Two-step sign-in</dt><dd>on</dd>" in page
    assert worker.password_hash not in page and enrolled.totp_secret not in page and "$argon2" not in page


def test_every_account_form_needs_its_csrf_token(make_app: Any) -> None:
    guarded = make_app(WTF_CSRF_ENABLED=True)
    with get_session_factory(guarded)() as db:
        admin = _admin(db)
        target = staff_with_password(db, Role.MEDIATOR, "med@tulay.test", totp_secret="JBSWY3DPEHPK3PXP")
        issue_api_token(db, admin)
        db.commit()
        token_id = only(db, select(ApiToken.id))
        reset, _ = staff.issue_password_reset(db, target, actor_id=None)
        db.commit()
        web = sign_in(guarded.test_client(), admin)
        form = {"role": "analyst", "current_password": PASSWORD, "new_password": NEW_PASSWORD}
        form["confirm_password"] = NEW_PASSWORD
        for path in (
            f"/console/users/{target.id}/deactivate",
            f"/console/users/{target.id}/role",
            f"/console/users/{target.id}/totp-reset",
            f"/console/users/{target.id}/password-reset",
            "/console/account/password",
            f"/console/account/tokens/{token_id}/revoke",
            f"/console/password-reset/{reset}",
        ):
            assert web.post(path, data=form).status_code == 400, path
        target, admin = reload(db, target), reload(db, admin)
        assert (target.active, target.role, target.totp_secret) == (True, Role.MEDIATOR, "JBSWY3DPEHPK3PXP")
        assert verify_password(admin, PASSWORD) and verify_password(target, PASSWORD)
        assert [e.action for e in _staff_events(db)] == ["staff_password_reset_issued"]  # the setup's only
        # With the page's token the same form works.
        page = web.get("/console/users").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf
        done = web.post(f"/console/users/{target.id}/role", data={"role": "analyst", "csrf_token": csrf.group(1)})
        assert done.status_code == 303 and reload(db, target).role == Role.ANALYST
