"""The case page: who reported (channel, language, consent, a masked contact, their other cases), and
every form folded in a <details>, the one in use open."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session

from casework.models import CaseStatus, ContactVerification, Reporter, Role, utcnow
from casework.privacy import mask_phone
from tests.app.console_support import add_message, make_case, make_staff, sign_in, version_of


def details(page: str) -> dict[str, bool]:
    """Each <details> by its summary text: open or not."""
    found = re.findall(r"<details([^>]*)><summary[^>]*>([^<]+)</summary>", page)
    return {summary.strip(): " open" in attributes for attributes, summary in found}


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+639171234567", "+63 ••• ••• 4567"),
        ("+9779812345678", "+977 ••• ••• 5678"),
        ("whatsapp:+971501234567", "+971 ••• ••• 4567"),
        ("+3225551", "+32 ••• ••• 51"),
    ],
)
def test_a_number_is_masked_to_its_country_code_and_last_digits(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


def test_the_reporter_panel_shows_channel_language_consent_masked_contact_and_other_cases(
    web: Any, db: Session
) -> None:
    mediator = make_staff(db, Role.MEDIATOR)
    case = make_case(db, language="tl", channel="whatsapp", status=CaseStatus.ASSIGNED, assignee_id=mediator.id)
    earlier = make_case(db, status=CaseStatus.ASSIGNED, assignee_id=mediator.id)
    hidden = make_case(db)  # the same reporter's case that this mediator does not hold
    for other in (earlier, hidden):
        other.reporter_id = case.reporter_id
        db.add(other)
    db.commit()
    page = sign_in(web, mediator).get(f"/console/cases/{case.reference}").text
    panel = page.split('id="reporter"')[1].split("</section>")[0]
    assert "WhatsApp" in panel and "tl (Tagalog)" in panel
    assert "+63 ••• ••• 4567" in panel and "+639171234567" not in page and "9171234567" not in page
    assert "wrote to us by WhatsApp" in panel
    assert f'href="/console/cases/{earlier.reference}"' in panel
    assert hidden.reference not in page, "a case the mediator may not see is not even named"


def test_consent_says_what_may_be_sent(web: Any, db: Session) -> None:
    staff = make_staff(db, Role.OMBUDSPERSON)
    anonymous = make_case(db, contact=None, channel="web")
    unproven = make_case(db, contact=None, channel="web")
    db.add(ContactVerification(case_id=unproven.id or 0, contact="+639170000001", contact_channel="sms"))
    stopped = make_case(db)
    reporter = db.get(Reporter, stopped.reporter_id)
    assert reporter is not None
    reporter.opted_out, reporter.opted_out_at = True, utcnow()
    db.add(reporter)
    db.commit()
    client = sign_in(web, staff)
    pages = {
        name: client.get(f"/console/cases/{c.reference}").text
        for name, c in (("anonymous", anonymous), ("unproven", unproven), ("stopped", stopped))
    }
    assert "anonymous, no contact" in pages["anonymous"]
    assert "not proven yet" in pages["unproven"] and "0001" not in pages["unproven"], "an unproven number is not shown"
    assert "opted out (STOP)" in pages["stopped"]


def test_every_form_is_folded_until_used(web: Any, db: Session) -> None:
    staff = make_staff(db, Role.OMBUDSPERSON)
    case = make_case(db, status=CaseStatus.ASSIGNED, assignee_id=staff.id)
    add_message(db, case, "Hindi binabayaran ang sahod ko", translation="My salary is unpaid")
    db.commit()
    client = sign_in(web, staff)
    page = client.get(f"/console/cases/{case.reference}").text
    folded = details(page)
    assert {"Write a reply", "Add a note", "Assign to a staff member", "Record the outcome"} <= set(folded)
    assert not any(folded.values()), folded
    # Every case form sits inside a <details> (sign-out, in the header, is the only other form).
    main = page.split('<main id="main"')[1]
    outside = re.sub(r"<details.*?</details>", "", main, flags=re.S)
    assert "<form" not in outside
    # A link may open one: ?open=NAME.
    assert details(client.get(f"/console/cases/{case.reference}?open=status").text)["Change the status (Assigned now)"]


def test_a_refused_form_comes_back_open_with_its_message(web: Any, db: Session) -> None:
    staff = make_staff(db, Role.OMBUDSPERSON)
    case = make_case(db)
    db.commit()
    client = sign_in(web, staff)
    version = version_of(client.get(f"/console/cases/{case.reference}").text)
    refused = client.post(f"/console/cases/{case.reference}/notes", data={"body": " ", "version": version})
    assert refused.status_code == 400
    state = details(refused.text)
    assert state["Add a note"] and not state["Write a reply"]
    note_part = refused.text.split('<summary accesskey="n">Add a note</summary>')[1].split("</details>")[0]
    assert 'role="alert"' in note_part
    assert f'action="/console/cases/{case.reference}/notes#notes"' in refused.text


def test_preview_returns_to_the_open_reply_form(web: Any, db: Session) -> None:
    staff = make_staff(db, Role.OMBUDSPERSON)
    case = make_case(db, language="en")
    db.commit()
    client = sign_in(web, staff)
    page = client.get(f"/console/cases/{case.reference}").text
    assert f'action="/console/cases/{case.reference}/reply#reply"' in page
    preview = client.post(
        f"/console/cases/{case.reference}/reply",
        data={"action": "preview", "text": "We are on it.", "version": version_of(page)},
    )
    assert preview.status_code == 200
    state = details(preview.text)
    assert state["Write a reply"] and not state["Add a note"]
    assert 'class="panel preview"' in preview.text.split("Write a reply</summary>")[1].split("</details>")[0]


def test_a_case_that_needs_a_person_to_triage_it_opens_the_triage_form(web: Any, db: Session) -> None:
    staff = make_staff(db, Role.OMBUDSPERSON)
    case = make_case(db, needs_human_triage=True)
    db.commit()
    state = details(sign_in(web, staff).get(f"/console/cases/{case.reference}").text)
    assert state["Confirm or correct the category and urgency"] and not state["Write a reply"]
