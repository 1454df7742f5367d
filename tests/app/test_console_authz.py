"""Authorization matrix: every console route x every role (anonymous, admin, ombudsperson,
mediator on their own case, mediator on someone else's case, analyst)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, col, select

from app.media import store_media
from app.security import issue_api_token
from casework.models import (
    ApiToken,
    CaseEvent,
    CaseStatus,
    MediaAttachment,
    MediationSession,
    Role,
    StaffNotification,
    utcnow,
)
from tests.app.console_support import add_message, fetch, make_case, make_staff, reload, sign_in

PUBLIC = {"console.login", "console.login_totp", "console.logout", "console.password_reset"}
# endpoint -> (method, path template)
ROUTES = {
    "console.queue": ("GET", "/console/"),
    "console.shortcuts": ("GET", "/console/shortcuts"),
    "console.totp_enrol": ("GET", "/console/account/totp"),
    "console.case_page": ("GET", "/console/cases/{ref}"),
    "console.case_audit": ("GET", "/console/cases/{ref}/audit"),
    "console.case_note": ("POST", "/console/cases/{ref}/notes"),
    "console.case_status": ("POST", "/console/cases/{ref}/status"),
    "console.case_assign": ("POST", "/console/cases/{ref}/assign"),
    "console.case_triage": ("POST", "/console/cases/{ref}/triage"),
    "console.case_triage_confirm": ("POST", "/console/cases/{ref}/triage/confirm"),
    "console.triage_accuracy_page": ("GET", "/console/triage-accuracy"),
    "console.case_refer": ("POST", "/console/cases/{ref}/refer"),
    "console.case_mediation_schedule": ("POST", "/console/cases/{ref}/mediation"),
    "console.case_mediation_result": ("POST", "/console/cases/{ref}/mediation/{session_id}"),
    "console.case_mediation_amend": ("POST", "/console/cases/{ref}/mediation/{session_id}/amend"),
    "console.mediation_agenda": ("GET", "/console/mediation"),
    "console.case_outcome": ("POST", "/console/cases/{ref}/outcome"),
    "console.case_reply": ("POST", "/console/cases/{ref}/reply"),
    "console.case_translation": ("POST", "/console/cases/{ref}/messages/{message_id}/translation"),
    "console.case_attachment": ("GET", "/console/cases/{ref}/attachments/{attachment_id}"),
    "console.users_page": ("GET", "/console/users"),
    "console.user_deactivate": ("POST", "/console/users/{user_id}/deactivate"),
    "console.user_reactivate": ("POST", "/console/users/{user_id}/reactivate"),
    "console.user_role": ("POST", "/console/users/{user_id}/role"),
    "console.user_totp_reset": ("POST", "/console/users/{user_id}/totp-reset"),
    "console.user_password_reset": ("POST", "/console/users/{user_id}/password-reset"),
    "console.account_page": ("GET", "/console/account"),
    "console.account_password": ("POST", "/console/account/password"),
    "console.account_token_revoke": ("POST", "/console/account/tokens/{token_id}/revoke"),
    "console.inbox_page": ("GET", "/console/inbox"),
    "console.inbox_mark_all_read": ("POST", "/console/inbox/read-all"),
    "console.inbox_mark_read": ("POST", "/console/inbox/{notification_id}/read"),
    "console.bulk_assign": ("POST", "/console/bulk-assign"),
    "console.settings": ("GET", "/console/settings"),
}
WORK = {
    "console.case_page",
    "console.case_note",
    "console.case_status",
    "console.case_mediation_schedule",
    "console.case_mediation_result",
    "console.case_mediation_amend",
    "console.case_outcome",
    "console.case_reply",
    "console.case_translation",
    "console.case_attachment",
}
MANAGE = {
    "console.case_assign",
    "console.case_triage",
    "console.case_triage_confirm",
    "console.case_refer",
    "console.bulk_assign",
}
ANY_STAFF = {
    "console.queue",
    "console.shortcuts",
    "console.totp_enrol",
    "console.account_page",
    "console.account_password",
    "console.inbox_page",
    "console.inbox_mark_all_read",
    "console.settings",
}
CASEWORKERS = {"console.mediation_agenda"}  # any caseworker; each mediator sees only their own sessions
ADMIN_ONLY = {
    "console.case_audit",
    "console.triage_accuracy_page",
    "console.users_page",
    "console.user_deactivate",
    "console.user_reactivate",
    "console.user_role",
    "console.user_totp_reset",
    "console.user_password_reset",
}
# The token in the URL belongs to someone else: for every signed-in caller it does not exist.
# The mediator's own notification: anyone else's does not exist for them (404).
OWN_NOTIFICATION = {"console.inbox_mark_read"}
NOT_THEIRS = {"console.account_token_revoke": 404}
ALLOWED = "allowed"
VIEWS = ["case_viewed", "audit_viewed", "attachment_viewed"]  # reads, recorded; they change nothing

EXPECTED: dict[str, dict[str, int | str]] = {
    "anonymous": dict.fromkeys(ROUTES, 302),
    "admin": {**dict.fromkeys(ROUTES, ALLOWED), **dict.fromkeys(OWN_NOTIFICATION, 404), **NOT_THEIRS},
    "ombudsperson": {
        **dict.fromkeys(ROUTES, ALLOWED),
        **dict.fromkeys(ADMIN_ONLY, 403),
        **dict.fromkeys(OWN_NOTIFICATION, 404),
        **NOT_THEIRS,
    },
    "mediator-own": {
        **dict.fromkeys(ANY_STAFF | WORK | CASEWORKERS | OWN_NOTIFICATION, ALLOWED),
        **dict.fromkeys(MANAGE | ADMIN_ONLY, 403),
        **NOT_THEIRS,
    },
    # Role checks come first (403); a case the mediator may not see does not exist for them (404).
    "mediator-other": {
        **dict.fromkeys(ANY_STAFF | CASEWORKERS, ALLOWED),
        **dict.fromkeys(WORK | OWN_NOTIFICATION, 404),
        **dict.fromkeys(MANAGE | ADMIN_ONLY, 403),
        **NOT_THEIRS,
    },
    "analyst": {
        **dict.fromkeys(ANY_STAFF, ALLOWED),
        **dict.fromkeys(WORK | MANAGE | ADMIN_ONLY | CASEWORKERS, 403),
        **dict.fromkeys(OWN_NOTIFICATION, 404),
        **NOT_THEIRS,
    },
}


def test_matrix_covers_every_console_route(capp: Flask) -> None:
    endpoints = {rule.endpoint for rule in capp.url_map.iter_rules() if rule.endpoint.startswith("console.")}
    assert endpoints - PUBLIC == set(ROUTES)


@pytest.mark.parametrize("who", list(EXPECTED))
def test_console_authorization(capp: Flask, db: Session, who: str) -> None:
    mediator = make_staff(db, Role.MEDIATOR)
    other_mediator = make_staff(db, Role.MEDIATOR)
    users = {
        "admin": make_staff(db, Role.ADMIN),
        "ombudsperson": make_staff(db, Role.OMBUDSPERSON),
        "mediator-own": mediator,
        "mediator-other": other_mediator,
        "analyst": make_staff(db, Role.ANALYST),
    }
    case = make_case(db, status=CaseStatus.IN_MEDIATION, assignee_id=mediator.id, employer_name="Employer Secret Ltd")
    item = MediationSession(case_id=case.id, mediator_id=mediator.id, scheduled_at=utcnow(), parties="both")
    db.add(item)
    message = add_message(db, case, "Hindi binabayaran ang sahod ko")
    attachment = MediaAttachment(message_id=message.id or 0, content_type="image/jpeg", fetched_at=utcnow())
    db.add(attachment)
    db.flush()
    with capp.app_context():
        attachment.stored_path = store_media(message.id or 0, attachment.id or 0, b"\xff\xd8\xff\xe0 a payslip")
    spare = make_staff(db, Role.MEDIATOR)  # the account the admin actions act on
    issue_api_token(db, spare)
    notification = StaffNotification(recipient_id=mediator.id, kind="assigned", case_id=case.id, event_key="matrix")
    db.add(notification)
    db.commit()
    spare_token = fetch(db, select(ApiToken).where(ApiToken.user_id == spare.id))[0]
    failures = []
    for endpoint, (method, template) in ROUTES.items():
        client = capp.test_client()
        if who != "anonymous":
            sign_in(client, users[who])
        before = reload(db, case).version
        changes_before = len(fetch(db, select(CaseEvent).where(col(CaseEvent.action).not_in(VIEWS))))
        url = template.format(
            ref=case.reference,
            session_id=item.id,
            message_id=message.id,
            attachment_id=attachment.id,
            user_id=spare.id,
            token_id=spare_token.id,
            notification_id=notification.id,
        )
        response = client.get(url) if method == "GET" else client.post(url, data={"version": str(before)})
        expected = EXPECTED[who][endpoint]
        ok = response.status_code in (200, 303, 400) if expected == ALLOWED else response.status_code == expected
        if ok and expected != ALLOWED:
            changes_after = len(fetch(db, select(CaseEvent).where(col(CaseEvent.action).not_in(VIEWS))))
            ok = reload(db, case).version == before and changes_after == changes_before
            if endpoint in OWN_NOTIFICATION:  # someone else's notification stays unread
                ok = ok and reload(db, notification).read_at is None
        if ok and who in ("analyst", "mediator-other", "anonymous"):
            # (a redirect to sign-in echoes the requested URL, so only the case's data is checked there)
            leaked = ["Employer Secret Ltd"] + ([] if who == "anonymous" else [case.reference])
            ok = not any(text in response.text for text in leaked)
        if not ok:
            failures.append((endpoint, expected, response.status_code))
    assert failures == []


def test_anonymous_is_sent_to_sign_in(web: Any) -> None:
    response = web.get("/console/cases/AAAA-AAAA")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_mediator_queue_shows_only_their_cases(web: Any, db: Session) -> None:
    mediator = make_staff(db, Role.MEDIATOR)
    mine = make_case(db, status=CaseStatus.IN_MEDIATION, assignee_id=mediator.id)
    theirs = make_case(db)
    db.commit()
    page = sign_in(web, mediator).get("/console/").text
    assert mine.reference in page and theirs.reference not in page


def test_analyst_sees_an_explanation_and_no_case_data(web: Any, db: Session) -> None:
    analyst = make_staff(db, Role.ANALYST)
    case = make_case(db)
    db.commit()
    page = sign_in(web, analyst).get("/console/")
    assert page.status_code == 200 and "anonymized data only" in page.text and case.reference not in page.text


def test_a_mediator_cannot_refer_through_the_status_form(web: Any, db: Session) -> None:
    """Moving a case to `referred` is referral to labour inspection: admins and ombudspersons only."""
    mediator = make_staff(db, Role.MEDIATOR)
    case = make_case(db, status=CaseStatus.ASSIGNED, assignee_id=mediator.id)
    db.commit()
    version = reload(db, case).version
    response = sign_in(web, mediator).post(
        f"/console/cases/{case.reference}/status", data={"to": "referred", "version": str(version)}
    )
    assert response.status_code == 403
    assert (reload(db, case).status, case.version) == (CaseStatus.ASSIGNED, version)
    ombudsperson = make_staff(db, Role.OMBUDSPERSON)
    db.commit()
    allowed = sign_in(web, ombudsperson).post(
        f"/console/cases/{case.reference}/status", data={"to": "referred", "version": str(version)}
    )
    assert allowed.status_code == 303 and reload(db, case).status == CaseStatus.REFERRED
    actions = fetch(db, select(CaseEvent.action).where(CaseEvent.case_id == case.id))
    assert "referred_to_inspection" in actions
