"""Console pages and forms: queue filters, the case page, every case form, stale forms, XSS."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from app.console.views import STALE_MESSAGE
from app.db import get_session_factory
from app.mt import EXTENSION_KEY as MT_EXTENSION_KEY
from casework.cases import hash_pin
from casework.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Direction,
    MediationSession,
    Message,
    Note,
    Outcome,
    RemedyLine,
    Role,
    Route,
    StaffUser,
    Urgency,
    utcnow,
)
from casework.mt.apertium import installed_modes
from casework.translation import TranslationService
from tests.app.console_support import (
    add_message,
    fetch,
    make_case,
    make_staff,
    only,
    reload,
    sign_in,
    version_of,
)


class FakeEngine:
    """Stands in for argos at the MT edge: tags text with the target language."""

    name = "fake-mt"

    def pairs(self) -> set[tuple[str, str]]:
        return {("en", "tl"), ("tl", "en")}

    def model_version(self, source: str, target: str) -> str:
        return "1.0"

    def translate_batch(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        return [f"[{target}] {t}" for t in texts]


def _case(db: Session, **fields: Any) -> Case:
    case = make_case(db, **fields)
    db.commit()
    return case


# --- queue ------------------------------------------------------------------------------------


def test_queue_lists_cases_with_overdue_ones_marked(staff_client: Any, db: Session) -> None:
    late = _case(db, first_response_due_at=utcnow() - timedelta(hours=1))
    on_time = _case(db, first_response_due_at=utcnow() + timedelta(hours=1))
    page = staff_client.get("/console/").text
    late_row = page.split(late.reference)[0].rsplit("<tr", 1)[1]
    on_time_row = page.split(on_time.reference)[0].rsplit("<tr", 1)[1]
    assert 'class="overdue"' in late_row and 'class="overdue"' not in on_time_row
    assert "badge-overdue" in page.split(f">{late.reference}</a>")[1].split("</td>")[0]


@pytest.mark.parametrize(
    ("label", "query", "expected"),
    [
        ("status", "status=assigned", {"assigned"}),
        ("urgency", "urgency=critical", {"critical"}),
        ("language", "language=ne", {"nepali"}),
        ("route", "route=mediation", {"mediation"}),
        ("overdue", "overdue=true", {"late"}),
        ("needs human translation", "needs_human_translation=true", {"nepali"}),
        ("unassigned", "assignee_id=none", {"critical", "nepali", "mediation", "late"}),
        ("reference prefix", "q=@critical", {"critical"}),
        ("empty fields are ignored", "status=&urgency=&q=", {"assigned", "critical", "nepali", "mediation", "late"}),
    ],
)
def test_queue_filters(
    staff_client: Any, db: Session, ombud: StaffUser, label: str, query: str, expected: set[str]
) -> None:
    made = {
        "assigned": _case(db, status=CaseStatus.ASSIGNED, assignee_id=ombud.id),
        "critical": _case(db, urgency=Urgency.CRITICAL),
        "nepali": _case(db, language="ne", needs_human_translation=True),
        "mediation": _case(db, route=Route.MEDIATION),
        "late": _case(db, first_response_due_at=utcnow() - timedelta(minutes=5)),
    }
    query = query.replace("@critical", made["critical"].reference[:6])
    page = staff_client.get(f"/console/?{query}")
    assert page.status_code == 200, label
    shown = {name for name, case in made.items() if case.reference in page.text}
    assert shown == expected, label


@pytest.mark.parametrize(
    ("label", "query", "message"),
    [
        ("bad status", "status=lost", "status must be one of"),
        ("bad page", "page=0", "page must be between"),
        ("unknown filter", "colour=red", "unknown filter"),
        ("hostile reference", "q=<script>", "q must be"),
    ],
)
def test_bad_queue_filter_is_a_400_with_a_message(staff_client: Any, label: str, query: str, message: str) -> None:
    response = staff_client.get(f"/console/?{query}")
    assert response.status_code == 400, label
    assert message in response.text
    assert "<script>" not in response.text


def test_queue_paginates(staff_client: Any, db: Session) -> None:
    for _ in range(3):
        make_case(db)
    db.commit()
    first = staff_client.get("/console/?per_page=2")
    assert "Page 1 of 2" in first.text and "page=2" in first.text
    second = staff_client.get("/console/?per_page=2&page=2")
    assert "Page 2 of 2" in second.text and second.text.count('class="badge badge-normal"') == 1


# --- case page --------------------------------------------------------------------------------


def test_case_page_shows_original_and_translation_side_by_side(
    staff_client: Any, db: Session, ombud: StaffUser
) -> None:
    case = _case(db)
    add_message(
        db,
        case,
        "Hindi po binayaran ang sahod ko",
        translation="My salary was not paid",
        translation_language="en",
        translation_engine="argos",
        language="tl",
    )
    add_message(
        db,
        case,
        "Wala pa rin",
        translation="Still nothing",
        translation_language="en",
        translation_engine="argos",
        translation_corrected_by_id=ombud.id,
        translation_corrected_at=utcnow(),
    )
    add_message(db, case, "ምንም ክፍያ የለም", language="am", needs_human_translation=True)
    db.commit()
    page = staff_client.get(f"/console/cases/{case.reference}").text
    first = page.split("Hindi po binayaran")[1].split("</article>")[0]
    assert "My salary was not paid" in first and "machine translation (argos)" in first
    assert f"corrected by {ombud.display_name}" in page.split("Wala pa rin")[1].split("</article>")[0]
    amharic = page.split("ምንም ክፍያ የለም")[1].split("</article>")[0]
    assert "Not translated — needs a human translator." in amharic
    assert "machine translation" not in amharic


def test_case_reference_is_accepted_as_typed(staff_client: Any, db: Session) -> None:
    case = _case(db)
    typed = case.reference.replace("-", "").lower()
    assert staff_client.get(f"/console/cases/{typed}").status_code == 200
    assert staff_client.get("/console/cases/NOPE").status_code == 404
    assert staff_client.get("/console/cases/0000-0000").status_code == 404


def test_every_case_view_is_audited(staff_client: Any, db: Session, ombud: StaffUser) -> None:
    case = _case(db)
    staff_client.get(f"/console/cases/{case.reference}")
    staff_client.get(f"/console/cases/{case.reference}")
    views = fetch(db, select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "case_viewed"))
    db.commit()
    assert [(v.actor_id, v.actor_kind) for v in views] == [(ombud.id, "staff")] * 2


def test_only_legal_transitions_are_offered(staff_client: Any, db: Session) -> None:
    case = _case(db)  # new: triaged, assigned, closed
    page = staff_client.get(f"/console/cases/{case.reference}").text
    status_form = page.split('id="status-to"')[1].split("</select>")[0]
    offered = set(re.findall(r'<option value="(\w+)"', status_form))
    assert offered == {"triaged", "assigned", "closed"}


# --- forms ------------------------------------------------------------------------------------


def _post(web: Any, case: Case, path: str, **data: Any) -> Any:
    page = web.get(f"/console/cases/{case.reference}").text
    return web.post(f"/console/cases/{case.reference}/{path}", data={"version": version_of(page), **data})


def test_note_is_added_and_shown(staff_client: Any, db: Session) -> None:
    case = _case(db)
    response = _post(staff_client, case, "notes", body="Called the employer; no answer.")
    assert response.status_code == 303
    page = staff_client.get(response.headers["Location"]).text
    assert "Called the employer; no answer." in page and "Note added." in page


def test_empty_note_is_refused_with_a_message(staff_client: Any, db: Session) -> None:
    case = _case(db)
    response = _post(staff_client, case, "notes", body="   ")
    assert response.status_code == 400 and "the note is empty" in response.text
    assert fetch(db, select(Note)) == []


def test_stale_form_is_refused_and_writes_nothing(staff_client: Any, db: Session, ombud: StaffUser) -> None:
    case = _case(db)
    page = staff_client.get(f"/console/cases/{case.reference}").text
    stale = version_of(page)
    other = make_staff(db, Role.OMBUDSPERSON)
    db.commit()
    # Someone else assigns the case in the meantime.
    assert (
        _post(
            sign_in(staff_client.application.test_client(), other), case, "assign", assignee_id=str(other.id)
        ).status_code
        == 303
    )
    events_before = fetch(db, select(CaseEvent).where(CaseEvent.action != "case_viewed"))
    db.commit()
    for path, data in [
        ("notes", {"body": "my note"}),
        ("status", {"to": "closed"}),
        ("assign", {"assignee_id": str(ombud.id)}),
        ("outcome", {"resolution_type": "withdrawn"}),
        ("reply", {"action": "send", "text": "hi", "sent_text": "hi"}),
    ]:
        response = staff_client.post(f"/console/cases/{case.reference}/{path}", data={"version": stale, **data})
        assert response.status_code == 409, path
        assert STALE_MESSAGE.split(":")[0] in response.text
    reload(db, case)
    assert case.assignee_id == other.id and case.status == CaseStatus.ASSIGNED
    assert fetch(db, select(Note)) == [] and fetch(db, select(Outcome)) == []
    events_after = fetch(db, select(CaseEvent).where(CaseEvent.action != "case_viewed"))
    db.commit()
    assert len(events_after) == len(events_before)


def test_form_without_version_is_refused(staff_client: Any, db: Session) -> None:
    case = _case(db)
    response = staff_client.post(f"/console/cases/{case.reference}/notes", data={"body": "x"})
    assert response.status_code == 400 and "missing the case version" in response.text


def test_illegal_transition_is_refused_with_a_message(staff_client: Any, db: Session) -> None:
    case = _case(db)
    response = _post(staff_client, case, "status", to="resolved")
    assert response.status_code == 400 and "a new case cannot become resolved" in response.text
    assert reload(db, case).status == CaseStatus.NEW
    assert _post(staff_client, case, "status", to="nonsense").status_code == 400


def test_legal_transition_and_reopen(staff_client: Any, db: Session) -> None:
    case = _case(db)
    assert _post(staff_client, case, "status", to="closed", confirm_unanswered="yes").status_code == 303
    assert reload(db, case).status == CaseStatus.CLOSED
    page = staff_client.get(f"/console/cases/{case.reference}").text
    assert 'id="note-body"' not in page, "a closed case offers no note form"
    assert _post(staff_client, case, "status", to="investigating").status_code == 303
    assert reload(db, case).status == CaseStatus.INVESTIGATING


def test_assign_and_refuse_inactive_assignee(staff_client: Any, db: Session) -> None:
    case = _case(db)
    colleague = make_staff(db, Role.OMBUDSPERSON)
    gone = make_staff(db, Role.OMBUDSPERSON, active=False)
    db.commit()
    refused = _post(staff_client, case, "assign", assignee_id=str(gone.id))
    assert refused.status_code == 400 and "inactive" in refused.text
    assigned = _post(staff_client, case, "assign", assignee_id=str(colleague.id), reason="speaks Tagalog")
    assert assigned.status_code == 303
    assert reload(db, case).assignee_id == colleague.id
    assert _post(staff_client, case, "assign", assignee_id="").status_code == 400


def test_refer_to_inspection_and_to_mediation(staff_client: Any, db: Session, ombud: StaffUser) -> None:
    inspected = _case(db, status=CaseStatus.ASSIGNED, assignee_id=ombud.id)
    assert _post(staff_client, inspected, "refer", to="inspection").status_code == 303
    assert reload(db, inspected).status == CaseStatus.REFERRED
    mediated = _case(db, status=CaseStatus.ASSIGNED, assignee_id=ombud.id)
    mediator = make_staff(db, Role.MEDIATOR)
    db.commit()
    assert _post(staff_client, mediated, "refer", to="mediation", mediator_id=str(mediator.id)).status_code == 303
    reload(db, mediated)
    assert (mediated.status, mediated.route, mediated.assignee_id) == (
        CaseStatus.IN_MEDIATION,
        Route.MEDIATION,
        mediator.id,
    )
    assert _post(staff_client, mediated, "refer", to="elsewhere").status_code == 400


def test_mediation_session_scheduled_then_result_recorded(staff_client: Any, db: Session, ombud: StaffUser) -> None:
    case = _case(db, status=CaseStatus.ASSIGNED, assignee_id=ombud.id)
    mediator = make_staff(db, Role.MEDIATOR)
    db.commit()
    assert (
        _post(
            staff_client,
            case,
            "mediation",
            mediator_id=str(mediator.id),
            scheduled_at="2026-03-01T14:30",
            parties="worker, employer HR",
        ).status_code
        == 303
    )
    item = only(db, select(MediationSession))
    db.commit()
    assert item.scheduled_at is not None and item.scheduled_at.isoformat() == "2026-03-01T14:30:00+00:00"
    assert reload(db, case).status == CaseStatus.IN_MEDIATION
    bad = _post(staff_client, case, f"mediation/{item.id}", held_at="yesterday", result="agreement")
    assert bad.status_code == 400 and "date and time" in bad.text
    assert (
        _post(
            staff_client,
            case,
            f"mediation/{item.id}",
            held_at="2026-03-01T15:00",
            result="agreement",
            notes="Employer pays arrears by 15 March",
        ).status_code
        == 303
    )
    page = staff_client.get(f"/console/cases/{case.reference}").text
    assert "Result: Agreement" in page and "Employer pays arrears by 15 March" in page


def test_outcome_recorded_with_amount_and_currency(staff_client: Any, db: Session) -> None:
    case = _case(db)
    bad = _post(staff_client, case, "outcome", resolution_type="remedied", amount_recovered="1250", currency="XXQ")
    assert bad.status_code == 400 and "currency must be" in bad.text
    assert (
        _post(
            staff_client,
            case,
            "outcome",
            resolution_type="remedied",
            remedies=["wages_paid", "documents_returned"],
            amount_recovered="1250.50",
            currency="php",
            inspection_requested="yes",
        ).status_code
        == 303
    )
    outcome = only(db, select(Outcome))
    db.commit()
    assert (
        outcome.resolution_type,
        outcome.remedies,
        outcome.amount_recovered,
        outcome.currency,
        outcome.inspection_requested,
        outcome.sanction_reported,
    ) == ("remedied", ["wages_paid", "documents_returned"], Decimal("1250.50"), "PHP", True, False)


def test_mediation_times_are_read_and_shown_in_the_staff_members_time_zone(
    staff_client: Any, db: Session, ombud: StaffUser
) -> None:
    reload(db, ombud).time_zone = "Asia/Manila"  # UTC+8, no daylight saving
    case = _case(db, status=CaseStatus.ASSIGNED, assignee_id=ombud.id)
    mediator = make_staff(db, Role.MEDIATOR)
    db.commit()
    page = staff_client.get(f"/console/cases/{case.reference}").text
    assert "Date and time (Asia/Manila)" in page
    _post(staff_client, case, "mediation", mediator_id=str(mediator.id), scheduled_at="2026-03-01T14:30", parties="x")
    item = only(db, select(MediationSession))
    db.commit()
    assert item.scheduled_at is not None and item.scheduled_at.isoformat() == "2026-03-01T06:30:00+00:00"
    assert "2026-03-01 14:30 PST" in staff_client.get(f"/console/cases/{case.reference}").text


def test_mediation_agreement_terms_amendment_and_agenda(
    staff_client: Any, capp: Flask, db: Session, ombud: StaffUser
) -> None:
    case = _case(db, status=CaseStatus.ASSIGNED, assignee_id=ombud.id)
    mediator = make_staff(db, Role.MEDIATOR)
    db.commit()
    when = (utcnow() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    _post(staff_client, case, "mediation", mediator_id=str(mediator.id), scheduled_at=when, parties="worker, HR")
    item = only(db, select(MediationSession))
    db.commit()
    early = (utcnow() - timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M")
    refused = _post(staff_client, case, f"mediation/{item.id}", held_at=early, result="agreement")
    assert refused.status_code == 400 and "before the session was scheduled" in refused.text
    due = (utcnow() + timedelta(days=30)).date().isoformat()
    held = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    recorded = _post(
        staff_client,
        case,
        f"mediation/{item.id}",
        held_at=held,
        result="agreement",
        follow_up_on=due,
        term_remedy=["wages_paid", "", "documents_returned"],
        term_amount=["1,500", "", ""],
        term_currency=["php", "", ""],
        term_payer=["employer", "employer", "recruitment_agency"],
        term_due=[due, "", ""],
    )
    assert recorded.status_code == 303
    lines = fetch(db, select(RemedyLine))
    db.commit()
    assert sorted((line.remedy, line.amount, line.currency, line.payer) for line in lines) == [
        ("documents_returned", None, None, "recruitment_agency"),
        ("wages_paid", Decimal("1500.00"), "PHP", "employer"),
    ]
    page = staff_client.get(f"/console/cases/{case.reference}").text
    assert "Agreed terms" in page and "1,500.00 PHP" in page and "Amend this result" in page
    amended = _post(
        staff_client,
        case,
        f"mediation/{item.id}/amend",
        held_at=held,
        result="partial_agreement",
        reason="documents not part of it",
        follow_up_on=due,
        term_remedy=["wages_paid"],
        term_amount=["1,500"],
        term_currency=["PHP"],
        term_payer=["employer"],
        term_due=[due],
    )
    assert amended.status_code == 303
    assert len(fetch(db, select(RemedyLine))) == 1
    assert "mediation_result_amended" in [e.action for e in fetch(db, select(CaseEvent))]
    db.commit()
    # The agenda: a mediator sees their own follow-up; an ombudsperson can see everyone's.
    mediator_web = sign_in(capp.test_client(), mediator)
    agenda = mediator_web.get("/console/mediation")
    assert agenda.status_code == 200 and case.reference in agenda.text and due in agenda.text
    assert "Mediator" not in agenda.text.split("<main")[-1].split("<h2")[0], "a mediator has no mediator picker"
    assert case.reference in staff_client.get(f"/console/mediation?mediator={mediator.id}").text
    other = make_staff(db, Role.MEDIATOR)
    db.commit()
    assert case.reference not in sign_in(capp.test_client(), other).get("/console/mediation").text


def test_outcome_form_reads_amounts_as_written_and_keeps_what_was_typed(staff_client: Any, db: Session) -> None:
    case = _case(db)
    page = staff_client.get(f"/console/cases/{case.reference}").text
    assert re.search(r'<option value="" selected>choose…</option>', page), "no resolution is chosen for the user"
    empty = _post(staff_client, case, "outcome", amount_recovered="1,500", currency="PHP")
    assert empty.status_code == 400 and "choose a resolution" in empty.text
    assert 'value="1,500"' in empty.text and 'value="PHP"' in empty.text, "the refused form lost what was typed"
    typo = _post(staff_client, case, "outcome", resolution_type="remedied", amount_recovered="1.500,00", currency="PHP")
    assert typo.status_code == 400 and "not a number as written here (for example 1,500.50)" in typo.text
    alert = re.search(r'<p class="flash flash-error" role="alert">(.*?)</p>', unescape(typo.text))
    assert alert and "The amount recovered" in alert.group(1) and "amount_recovered" not in alert.group(1)
    assert '<option value="remedied" selected>' in typo.text and 'value="1.500,00"' in typo.text
    assert fetch(db, select(Outcome)) == []
    done = _post(
        staff_client,
        case,
        "outcome",
        resolution_type="remedied",
        remedies=["wages_paid"],
        amount_recovered="1,500",
        currency="PHP",
    )
    assert done.status_code == 303
    outcome = only(db, select(Outcome))
    db.commit()
    assert outcome.amount_recovered == Decimal("1500.00")
    assert 'value="1,500.00"' in staff_client.get(f"/console/cases/{case.reference}").text


def test_outcome_amount_follows_the_working_language(capp: Flask, staff_client: Any, db: Session) -> None:
    capp.config["WORKING_LANGUAGE"] = "es"
    case = _case(db)
    posted = _post(
        staff_client, case, "outcome", resolution_type="remedied", amount_recovered="1.500,25", currency="EUR"
    )
    assert posted.status_code == 303, re.findall(r"flash-error.*", posted.text)
    outcome = only(db, select(Outcome))
    db.commit()
    assert outcome.amount_recovered == Decimal("1500.25")


def test_closing_a_case_the_worker_never_heard_back_on_needs_confirming(staff_client: Any, db: Session) -> None:
    case = _case(db, status=CaseStatus.ASSIGNED)
    page = staff_client.get(f"/console/cases/{case.reference}").text
    assert "has never received a reply" in page
    refused = _post(staff_client, case, "status", to="closed")
    assert refused.status_code == 400 and "never received a reply" in refused.text
    assert reload(db, case).status == CaseStatus.ASSIGNED
    db.commit()
    assert _post(staff_client, case, "status", to="closed", confirm_unanswered="yes").status_code == 303
    assert reload(db, case).status == CaseStatus.CLOSED
    actions = [e.action for e in fetch(db, select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert "closed_without_reply" in actions


def test_closing_an_answered_case_needs_no_confirmation(staff_client: Any, db: Session) -> None:
    case = _case(db, status=CaseStatus.ASSIGNED)
    add_message(
        db, case, "We are calling your employer.", direction=Direction.OUTBOUND, kind="reply", delivery_status="sent"
    )
    failed = make_case(db, status=CaseStatus.ASSIGNED)
    add_message(db, failed, "We are calling.", direction=Direction.OUTBOUND, kind="reply", delivery_status="failed")
    db.commit()
    assert "has never received a reply" not in staff_client.get(f"/console/cases/{case.reference}").text
    assert _post(staff_client, case, "status", to="closed").status_code == 303
    actions = [e.action for e in fetch(db, select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert "closed_without_reply" not in actions
    assert _post(staff_client, failed, "status", to="closed").status_code == 400, "a failed reply is no answer"
    # A web reporter reads every reply on /status with their PIN, even one no channel could carry.
    web = make_case(db, status=CaseStatus.ASSIGNED, pin_hash=hash_pin("123456"))
    add_message(db, web, "We are calling.", direction=Direction.OUTBOUND, kind="reply", delivery_status="suppressed")
    db.commit()
    assert _post(staff_client, web, "status", to="closed").status_code == 303


# --- reply ------------------------------------------------------------------------------------


def test_reply_without_machine_translation_says_so_and_needs_a_human_text(staff_client: Any, db: Session) -> None:
    case = _case(db, language="tl")
    preview = _post(staff_client, case, "reply", action="preview", text="We will call your employer.")
    assert preview.status_code == 200
    assert "No machine translation is available from en to tl" in preview.text
    version = version_of(preview.text)
    refused = staff_client.post(
        f"/console/cases/{case.reference}/reply",
        data={
            "version": version,
            "action": "send",
            "text": "We will call your employer.",
            "engine": "human",
            "sent_text": "",
        },
    )
    assert refused.status_code == 400 and "human translation is needed" in refused.text
    assert fetch(db, select(Message)) == []
    sent = staff_client.post(
        f"/console/cases/{case.reference}/reply",
        data={
            "version": version,
            "action": "send",
            "text": "We will call your employer.",
            "engine": "human",
            "sent_text": "Tatawagan namin ang iyong employer.",
        },
    )
    assert sent.status_code == 303
    message = only(db, select(Message))
    db.commit()
    assert (message.direction, message.body, message.translation, message.translation_engine) == (
        Direction.OUTBOUND,
        "Tatawagan namin ang iyong employer.",
        "We will call your employer.",
        "human",
    )


@pytest.fixture
def translator(capp: Flask) -> TranslationService:
    service = TranslationService([FakeEngine()])
    capp.extensions[MT_EXTENSION_KEY] = service
    return service


def test_reply_preview_shows_translation_and_back_translation_then_sends(
    staff_client: Any, db: Session, translator: TranslationService
) -> None:
    case = _case(db, language="tl")
    preview = _post(staff_client, case, "reply", action="preview", text="We received your report.")
    assert "[tl] We received your report." in preview.text
    assert "[en] [tl] We received your report." in preview.text, "back-translation shown"
    assert fetch(db, select(Message)) == [], "a preview writes nothing"
    db.commit()
    sent = staff_client.post(
        f"/console/cases/{case.reference}/reply",
        data={
            "version": version_of(preview.text),
            "action": "send",
            "text": "We received your report.",
            "engine": "fake-mt",
            "model_version": "1.0",
            "machine_text": "[tl] We received your report.",
            "sent_text": "[tl] We received your report.",
        },
    )
    assert sent.status_code == 303
    message = only(db, select(Message))
    db.commit()
    assert (message.body, message.translation_engine, message.translation_model_version) == (
        "[tl] We received your report.",
        "fake-mt",
        "1.0",
    )
    page = staff_client.get(f"/console/cases/{case.reference}").text
    assert "machine translation (fake-mt)" in page


def test_reply_edited_after_machine_translation_is_labelled_human(
    staff_client: Any, db: Session, translator: TranslationService
) -> None:
    case = _case(db, language="tl")
    page = staff_client.get(f"/console/cases/{case.reference}").text
    assert (
        staff_client.post(
            f"/console/cases/{case.reference}/reply",
            data={
                "version": version_of(page),
                "action": "send",
                "text": "Hello",
                "engine": "fake-mt",
                "machine_text": "[tl] Hello",
                "sent_text": "Kumusta po",
            },
        ).status_code
        == 303
    )
    message = only(db, select(Message))
    db.commit()
    assert (message.body, message.translation_engine) == ("Kumusta po", "human")


needs_apertium = pytest.mark.skipif(
    "spa-eng" not in installed_modes() or "eng-spa" not in installed_modes(),
    reason="Debian apertium-eng-spa not installed (make system-deps)",
)


def _textarea(html: str, name: str) -> str:
    found = re.search(rf'<textarea id="{name}" name="{name}"[^>]*>(.*?)</textarea>', html, re.S)
    assert found, f"no {name} textarea on the page"
    return unescape(found.group(1))


@needs_apertium
def test_reply_to_a_spanish_reporter_is_machine_translated_with_a_back_translation(
    staff_client: Any, db: Session
) -> None:
    case = _case(db, language="es")
    text = "We received your report and will call your employer tomorrow."
    preview = _post(staff_client, case, "reply", action="preview", text=text)
    assert preview.status_code == 200
    spanish = _textarea(preview.text, "sent_text")
    assert "informe" in spanish and "mañana" in spanish, spanish
    assert "machine translation (apertium)" in preview.text
    back = re.search(r"check the meaning survived\):</p>\s*<p class=\"body\">(.*?)</p>", preview.text, re.S)
    assert back and "report" in unescape(back.group(1)) and "tomorrow" in unescape(back.group(1))
    sent = staff_client.post(
        f"/console/cases/{case.reference}/reply",
        data={"version": version_of(preview.text), "action": "send", "text": text, "sent_text": spanish},
    )
    assert sent.status_code == 303
    message = only(db, select(Message))
    db.commit()
    assert (message.body, message.translation, message.language, message.translation_engine) == (
        spanish,
        text,
        "es",
        "apertium",
    )
    assert message.translation_model_version.startswith("apertium-eng-spa@") and message.translation_pivot is None


@needs_apertium
def test_reply_edited_after_a_real_translation_is_recorded_as_human(staff_client: Any, db: Session) -> None:
    case = _case(db, language="es")
    preview = _post(staff_client, case, "reply", action="preview", text="We will call you.")
    edited = _textarea(preview.text, "sent_text") + " Saludos."
    assert (
        staff_client.post(
            f"/console/cases/{case.reference}/reply",
            data={
                "version": version_of(preview.text),
                "action": "send",
                "text": "We will call you.",
                "sent_text": edited,
                "engine": "apertium",
            },
        ).status_code
        == 303
    )
    message = only(db, select(Message))
    db.commit()
    assert (message.body, message.translation_engine, message.translation_model_version) == (edited, "human", None)


def test_a_form_cannot_claim_a_machine_engine_for_a_human_text(
    staff_client: Any, db: Session, translator: TranslationService
) -> None:
    case = _case(db, language="tl")
    page = staff_client.get(f"/console/cases/{case.reference}").text
    assert (
        staff_client.post(
            f"/console/cases/{case.reference}/reply",
            data={
                "version": version_of(page),
                "action": "send",
                "text": "Hello",
                "engine": "fake-mt",
                "model_version": "9.9",
                "machine_text": "Kumusta po",
                "sent_text": "Kumusta po",
            },
        ).status_code
        == 303
    )
    message = only(db, select(Message))
    db.commit()
    assert (message.translation_engine, message.translation_model_version) == ("human", None)


def test_reply_in_the_working_language_is_sent_as_written(staff_client: Any, db: Session) -> None:
    case = _case(db, language="en")
    preview = _post(staff_client, case, "reply", action="preview", text="We are on it.")
    assert "sent as written" in preview.text
    assert (
        staff_client.post(
            f"/console/cases/{case.reference}/reply",
            data={"version": version_of(preview.text), "action": "send", "text": "We are on it.", "engine": "identity"},
        ).status_code
        == 303
    )
    message = only(db, select(Message))
    db.commit()
    assert (message.body, message.translation_engine) == ("We are on it.", None)


# --- translation correction -------------------------------------------------------------------


def test_staff_correct_a_translation_and_the_page_says_who(staff_client: Any, db: Session, ombud: StaffUser) -> None:
    case = _case(db, language="tl", needs_human_translation=True)
    machine = add_message(
        db,
        case,
        "Kinuha ng amo ang pasaporte ko",
        translation="The boss took my passport",
        translation_language="en",
        translation_engine="argos",
        translation_model_version="1.9",
    )
    flagged = add_message(db, case, "Hindi pa ako binabayaran", needs_human_translation=True)
    db.commit()
    page = staff_client.get(f"/console/cases/{case.reference}").text
    assert f'action="/console/cases/{case.reference}/messages/{machine.id}/translation"' in page
    response = staff_client.post(
        f"/console/cases/{case.reference}/messages/{flagged.id}/translation",
        data={"version": version_of(page), "text": "  I have not been paid yet  "},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#message-{flagged.id}")
    fixed = reload(db, flagged)
    assert (
        fixed.translation,
        fixed.translation_engine,
        fixed.translation_language,
        fixed.translation_corrected_by_id,
        fixed.needs_human_translation,
    ) == ("I have not been paid yet", "human", "en", ombud.id, False)
    assert reload(db, case).needs_human_translation is False, "no message waits for a translator any more"
    assert reload(db, case).version > int(version_of(page)), "a correction is a case edit"
    event = only(db, select(CaseEvent).where(CaseEvent.action == "translation_corrected"))
    assert (event.actor_id, event.detail["message_id"]) == (ombud.id, flagged.id)
    assert "paid" not in str(event.detail), "the audit log never holds the text"
    db.commit()
    shown = staff_client.get(f"/console/cases/{case.reference}").text
    assert "I have not been paid yet" in shown and f"corrected by {ombud.display_name}" in shown


@pytest.mark.parametrize(
    ("label", "fields", "status", "says"),
    [
        ("stale version", {"version": "0", "text": "Fixed"}, 409, "Someone else changed this case"),
        ("empty text", {"text": "   "}, 400, "cannot be empty"),
        ("too long", {"text": "x" * 10_001}, 400, "longer than"),
        ("missing version", {"version": "", "text": "Fixed"}, 400, "missing the case version"),
    ],
)
def test_bad_translation_corrections_change_nothing(
    staff_client: Any, db: Session, label: str, fields: dict[str, str], status: int, says: str
) -> None:
    case = _case(db, language="tl")
    message = add_message(
        db,
        case,
        "Kinuha ng amo ang pasaporte ko",
        translation="The boss took my passport",
        translation_language="en",
        translation_engine="argos",
    )
    db.commit()
    page = staff_client.get(f"/console/cases/{case.reference}").text
    response = staff_client.post(
        f"/console/cases/{case.reference}/messages/{message.id}/translation",
        data={"version": version_of(page), **fields},
    )
    assert response.status_code == status and says in unescape(response.text), label
    assert (reload(db, message).translation, reload(db, message).translation_engine) == (
        "The boss took my passport",
        "argos",
    ), label


def test_a_message_of_another_case_cannot_be_corrected_through_this_one(staff_client: Any, db: Session) -> None:
    case, other = _case(db), _case(db)
    foreign = add_message(db, other, "Kinuha ng amo ang pasaporte ko", translation="The boss took my passport")
    reply = add_message(db, case, "Sent", direction=Direction.OUTBOUND)
    db.commit()
    page = staff_client.get(f"/console/cases/{case.reference}").text
    for message in (foreign, reply):
        response = staff_client.post(
            f"/console/cases/{case.reference}/messages/{message.id}/translation",
            data={"version": version_of(page), "text": "Hijacked"},
        )
        assert response.status_code == 400 and "no message" in response.text
    assert reload(db, foreign).translation == "The boss took my passport"


# --- audit trail ------------------------------------------------------------------------------


def test_admin_reads_the_audit_trail_and_others_cannot(web: Any, db: Session, ombud: StaffUser) -> None:
    case = _case(db)
    admin = make_staff(db, Role.ADMIN)
    db.commit()
    sign_in(web, ombud).get(f"/console/cases/{case.reference}")
    assert web.get(f"/console/cases/{case.reference}/audit").status_code == 403
    trail = sign_in(web, admin).get(f"/console/cases/{case.reference}/audit")
    assert trail.status_code == 200
    assert "case_opened" in trail.text and "case_viewed" in trail.text and ombud.display_name in trail.text


# --- stored XSS -------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '"><svg onload=alert(1)>',
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_is_escaped_everywhere(web: Any, db: Session, payload: str) -> None:
    admin = make_staff(db, Role.ADMIN)
    admin.display_name = payload
    case = _case(db, employer_name=payload)
    add_message(db, case, payload, translation=payload, translation_language="en", translation_engine="argos")
    db.add(Note(case_id=case.id, author_id=admin.id, body=payload))
    mediator = make_staff(db, Role.MEDIATOR)
    db.add(
        MediationSession(
            case_id=case.id,
            mediator_id=mediator.id,
            parties=payload,
            notes=payload,
            result="agreement",
            scheduled_at=utcnow(),
        )
    )
    db.commit()
    sign_in(web, admin)
    for url in ["/console/", f"/console/cases/{case.reference}", f"/console/cases/{case.reference}/audit"]:
        page = web.get(url).text
        assert payload not in page, url
        for raw in ("<script>", "<img", "<svg", 'href="javascript:'):
            assert raw not in page, (url, raw)
    assert payload.replace("<", "&lt;").split(">")[0].split('"')[0] in web.get(f"/console/cases/{case.reference}").text


def test_triage_override_is_saved_and_audited(staff_client: Any, db: Session) -> None:
    case = _case(db)
    bad = _post(staff_client, case, "triage", category="wage_theft", urgency="normal", country="QQ", sector="")
    assert bad.status_code == 400 and "country must be" in bad.text
    response = _post(
        staff_client,
        case,
        "triage",
        category="document_confiscation",
        urgency="high",
        country="sa",
        sector="domestic_work",
    )
    assert response.status_code == 303
    reload(db, case)
    assert (case.category, case.urgency, case.country, case.sector) == (
        "document_confiscation",
        "high",
        "SA",
        "domestic_work",
    )
    assert fetch(db, select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action.startswith("triage")))  # type: ignore[attr-defined]


@pytest.mark.skipif(
    not os.environ.get("TULAY_TEST_DATABASE_URL"),
    reason="SQLite serializes writers (BEGIN IMMEDIATE), so this race cannot happen there",
)
def test_edit_racing_another_commit_is_refused_by_the_version_column(
    staff_client: Any, db: Session, capp: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The form's version is current when checked, but another commit lands before ours."""
    import app.console.views as views

    case = _case(db)
    colleague = make_staff(db, Role.OMBUDSPERSON)
    db.commit()
    real_assign = views.assign_case

    def assign_after_a_concurrent_edit(session: Session, target: Case, *args: Any, **kwargs: Any) -> Any:
        with get_session_factory(capp)(expire_on_commit=True) as other:
            row = other.get_one(Case, target.id)
            row.urgency = Urgency.CRITICAL
            other.commit()
        return real_assign(session, target, *args, **kwargs)

    monkeypatch.setattr(views, "assign_case", assign_after_a_concurrent_edit)
    response = _post(staff_client, case, "assign", assignee_id=str(colleague.id))
    assert response.status_code == 409
    reload(db, case)
    assert (case.assignee_id, case.urgency, case.version) == (None, Urgency.CRITICAL, 2)
