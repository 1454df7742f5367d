"""Triage: category, urgency, country, sector and names from text in several languages."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from casework.models import Case, CaseEvent, CaseStatus, Category, Direction, Message, TriageFinding, Urgency
from casework.privacy import employer_key, lookup_hash
from casework.triage import (
    LexiconError,
    TriageError,
    apply_triage,
    load_lexicon,
    override_triage,
    parse_lexicon,
    triage_accuracy,
    triage_text,
)
from tests.factories import make_case, make_staff

LEXICON = load_lexicon()

# (label, original, translation, category, urgency, country, sector)
CASES = [
    (
        "en: wages",
        "I have not been paid for 3 months at the farm in Malaysia",
        None,
        Category.WAGE_THEFT,
        Urgency.NORMAL,
        "MY",
        "agriculture",
    ),
    (
        "en: trafficking indicators together are critical",
        "They took my passport, I am locked in the house and I owe the agency a big debt",
        None,
        Category.FORCED_LABOUR,
        Urgency.CRITICAL,
        None,
        None,
    ),
    (
        "tl: unpaid domestic worker in Riyadh",
        "Hindi binabayaran ang sahod ko, kasambahay ako sa Riyadh",
        None,
        Category.WAGE_THEFT,
        Urgency.NORMAL,
        "SA",
        "domestic_work",
    ),
    (
        "id: beaten by employer",
        "Saya dipukul majikan saya setiap hari di Malaysia",
        None,
        Category.HARASSMENT_VIOLENCE,
        Urgency.HIGH,
        "MY",
        "domestic_work",
    ),
    (
        "es: passport held on a building site",
        "Me quitaron el pasaporte en la obra y no me pagan",
        None,
        Category.DOCUMENT_CONFISCATION,
        Urgency.HIGH,
        None,
        "construction",
    ),
    (
        "ne: wages and passport held in Qatar",
        "मालिकले तलब दिएन र पासपोर्ट राख्यो, कतार",
        None,
        Category.DOCUMENT_CONFISCATION,
        Urgency.HIGH,
        "QA",
        None,
    ),
    (
        "zh: unpaid wages in a Taiwan factory",
        "拖欠工资三个月，在台湾工厂",  # noqa: RUF001 - a Chinese comma
        None,
        Category.WAGE_THEFT,
        Urgency.NORMAL,
        "TW",
        "manufacturing",
    ),
    (
        "vi: accents matter (nợ lương is owed wages, not a debt)",
        "Công ty giữ hộ chiếu và nợ lương tôi ở Đài Loan",
        None,
        Category.DOCUMENT_CONFISCATION,
        Urgency.HIGH,
        "TW",
        None,
    ),
    (
        "ar: a threat to kill is violence, critical",
        "الكفيل قال سيقتلني إذا هربت",
        None,
        Category.HARASSMENT_VIOLENCE,
        Urgency.CRITICAL,
        None,
        None,
    ),
    (
        "am with an English translation only",
        "ደሞዜን አልከፈሉኝም",
        "They did not pay my salary, I work in Dubai",
        Category.WAGE_THEFT,
        Urgency.NORMAL,
        "AE",
        None,
    ),
    (
        "injury",
        "I fell from the scaffolding and broke my leg, no medical help",
        None,
        Category.UNSAFE_WORK,
        Urgency.HIGH,
        None,
        "construction",
    ),
    ("nothing to go on", "hello?", None, Category.OTHER, Urgency.NORMAL, None, None),
]


@pytest.mark.parametrize(
    ("label", "original", "translation", "category", "urgency", "country", "sector"), CASES, ids=[c[0] for c in CASES]
)
def test_triage_reads_category_urgency_country_and_sector(
    label: str,
    original: str,
    translation: str | None,
    category: Category,
    urgency: Urgency,
    country: str | None,
    sector: str | None,
) -> None:
    result = triage_text([original, translation], LEXICON)
    assert (result.category, result.urgency, result.country, result.sector) == (category, urgency, country, sector)
    assert 0.0 <= result.confidence <= 1.0
    assert (result.confidence == 0.0) == (category is Category.OTHER and not result.evidence)


def test_confidence_grows_with_agreeing_evidence() -> None:
    one = triage_text(["I am unpaid"], LEXICON).confidence
    three = triage_text(["I am unpaid, no salary and they owe me wages"], LEXICON).confidence
    mixed = triage_text(["I am unpaid and I was beaten"], LEXICON).confidence
    assert three > one > mixed


@pytest.mark.parametrize(
    ("label", "text", "employer", "recruiter"),
    [
        ("named employer", "My employer is Al Noor Trading and he does not pay", "Al Noor Trading", None),
        ("company suffix", "I work at the site of Gulf Star Contracting since May", "Gulf Star Contracting", None),
        ("named agency", "The agency Bright Future Manpower took my fee", None, "Bright Future Manpower"),
        ("indonesian PT", "Saya direkrut oleh PT Maju Jaya", None, "Maju Jaya"),
        ("no names", "my boss does not pay me", None, None),
    ],
)
def test_employer_and_recruiter_mentions(label: str, text: str, employer: str | None, recruiter: str | None) -> None:
    result = triage_text([text], LEXICON)
    assert (result.employer, result.recruiter) == (employer, recruiter), label


def inbound(session: Session, case: Case, body: str, translation: str | None = None) -> Message:
    message = Message(
        case_id=case.id,
        reporter_id=case.reporter_id,
        direction=Direction.INBOUND,
        channel="sms",
        body=body,
        translation=translation,
    )
    session.add(message)
    session.flush()
    return message


def test_apply_triage_sets_fields_audits_without_text_and_moves_to_triaged(session: Session) -> None:
    case = make_case(session)
    message = inbound(session, case, "My employer is Al Noor Trading. They took my passport in Riyadh")
    apply_triage(session, case, message, LEXICON)
    session.commit()
    assert case.status == CaseStatus.TRIAGED and case.category == Category.DOCUMENT_CONFISCATION
    assert case.country == "SA" and case.employer_name == "Al Noor Trading"
    [event] = session.exec(select(CaseEvent).where(CaseEvent.action == "triaged")).all()
    assert event.detail["confidence"] == case.category_confidence and "Noor" not in str(event.detail)


@pytest.mark.parametrize(("label", "channel"), [("sms", "sms"), ("whatsapp", "whatsapp")])
def test_a_named_employer_gets_the_same_pseudonym_as_on_the_web_form(
    session: Session, label: str, channel: str
) -> None:
    case = make_case(session, channel=channel)
    apply_triage(session, case, inbound(session, case, "My employer is Al Noor Trading and he does not pay"), LEXICON)
    session.commit()
    assert case.employer_name == "Al Noor Trading", label
    # The web form's key for the same employer typed differently (web_intake uses employer_key too).
    assert case.employer_pseudonym == employer_key("  AL NOOR   trading ") == lookup_hash("employer", "al noor trading")
    raw = session.execute(text('SELECT employer_name FROM "case" WHERE id = :id'), {"id": case.id}).scalar_one()
    assert "Noor" not in raw, "the name itself is stored encrypted"
    session.commit()


def test_a_case_named_before_pseudonyms_gets_one_at_its_next_triage(session: Session) -> None:
    case = make_case(session, employer_name="Golden Sands Hotel")
    apply_triage(session, case, inbound(session, case, "still no salary"), LEXICON)
    assert case.employer_pseudonym == employer_key("golden sands hotel")
    unnamed = make_case(session)
    apply_triage(session, unnamed, inbound(session, unnamed, "still no salary"), LEXICON)
    assert unnamed.employer_name is None and unnamed.employer_pseudonym is None


def test_follow_up_raises_urgency_but_never_lowers_it_or_undoes_an_override(session: Session) -> None:
    staff = make_staff(session)
    case = make_case(session)
    apply_triage(session, case, inbound(session, case, "they do not pay my salary"), LEXICON)
    override_triage(session, case, staff.id, category="contract_substitution")
    apply_triage(session, case, inbound(session, case, "now they locked me in, please help"), LEXICON)
    assert case.urgency == Urgency.CRITICAL and case.category == Category.CONTRACT_SUBSTITUTION
    session.commit()
    version = case.version
    apply_triage(session, case, inbound(session, case, "ok"), LEXICON)
    session.commit()
    assert case.urgency == Urgency.CRITICAL and case.version == version  # nothing changed, no new version


def test_override_is_audited_with_from_to_and_confidence_and_feeds_accuracy(session: Session) -> None:
    staff = make_staff(session)
    right, wrong = make_case(session), make_case(session)
    apply_triage(session, right, inbound(session, right, "no salary for months"), LEXICON)
    apply_triage(session, wrong, inbound(session, wrong, "no salary for months"), LEXICON)
    confidence = wrong.category_confidence
    changes = override_triage(session, wrong, staff.id, category="recruitment_fees", urgency="high", country="sa")
    session.commit()
    assert changes["category"] == {"from": Category.WAGE_THEFT, "to": Category.RECRUITMENT_FEES}
    [event] = session.exec(select(CaseEvent).where(CaseEvent.action == "triage_overridden")).all()
    assert event.detail["changes"]["category"] == {"from": "wage_theft", "to": "recruitment_fees"}
    assert event.detail["original_confidence"] == confidence and event.actor_id == staff.id
    assert wrong.country == "SA" and wrong.category_confidence == 1.0
    assert triage_accuracy(session) == {"triaged": 2, "category_corrected": 1, "category_accuracy": 0.5}


@pytest.mark.parametrize(
    ("label", "kwargs", "message"),
    [
        ("unknown category", {"category": "theft"}, "theft"),
        ("unknown urgency", {"urgency": "panic"}, "panic"),
        ("bad country", {"country": "Saudi"}, "ISO 3166"),
        ("bad sector", {"sector": "<b>x</b>"}, "short code"),
        ("nothing", {}, "nothing to change"),
    ],
)
def test_bad_override_is_refused(session: Session, label: str, kwargs: dict[str, str], message: str) -> None:
    staff = make_staff(session)
    case = make_case(session)
    with pytest.raises(TriageError, match=message):
        override_triage(session, case, staff.id, **kwargs)
    assert case.category is None


@pytest.mark.parametrize(
    ("label", "data", "message"),
    [
        ("not a mapping", [], "must be a mapping"),
        ("no English", {"languages": ["es"]}, "English included"),
        ("unknown category", {"languages": ["en"], "categories": {"theft": {"en": ["x y"]}}}, "categories.theft"),
        (
            "unlisted language",
            {"languages": ["en"], "categories": {"housing": {"de": ["haus"]}}},
            "categories.housing.de",
        ),
        ("one-letter term", {"languages": ["en"], "categories": {"housing": {"en": ["a"]}}}, "bad term"),
    ],
)
def test_bad_lexicon_names_the_entry(label: str, data: object, message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        parse_lexicon(data)


def test_a_language_triage_cannot_read_needs_a_person_unless_a_translation_helps() -> None:
    kurdish = "Xwediyê kar pasaporta min girt"  # Kurdish: no terms, no engine
    assert triage_text([kurdish], LEXICON, language="ku").needs_human_triage
    translated = triage_text([kurdish, "My employer took my passport"], LEXICON, language="ku")
    assert not translated.needs_human_triage and translated.category == Category.DOCUMENT_CONFISCATION
    inputs = (
        ("empty", ""),
        ("emoji", "🙏🙏😢"),
        ("digits", "0917 123 4567"),
        ("4,096 characters", "a " * 2048),
        ("mixed scripts", "Hola 你好 नमस्ते ሰላም"),
    )
    for label, text_in in inputs:
        result = triage_text([text_in], LEXICON, language="en")
        assert result.needs_human_triage and result.category == Category.OTHER, label


def test_indicators_are_stored_with_their_words_encrypted_and_the_rule_that_decided(session: Session) -> None:
    case = make_case(session, language="en")
    message = inbound(session, case, "They took my passport. Now they locked me in the house.")
    message.language = "en"
    apply_triage(session, case, message, LEXICON)
    session.commit()
    findings = session.exec(select(TriageFinding).where(TriageFinding.case_id == case.id)).all()
    assert {f.indicator for f in findings} >= {"retention_of_identity_documents", "restriction_of_movement"}
    assert all(f.phrase and f.source == "original" for f in findings)
    raw = session.execute(text("SELECT phrase FROM triage_finding")).scalars().all()
    assert not any("locked" in value for value in raw), "the reporter's words are encrypted"
    assert case.urgency == Urgency.CRITICAL
    [event] = session.exec(select(CaseEvent).where(CaseEvent.action == "triaged")).all()
    assert event.detail["rule"] == "danger-now" and "locked" not in str(event.detail)


def test_a_resolved_past_event_does_not_count_as_danger_now() -> None:
    result = triage_text(["They took my passport last year but they gave it back."], LEXICON, language="en")
    assert "retention_of_identity_documents" not in result.indicators


def test_needs_human_triage_gets_the_high_clock_and_leaves_when_a_person_triages(session: Session) -> None:
    from casework.sla import load_sla_policy, set_deadlines
    from casework.triage import confirm_triage

    staff = make_staff(session)
    unclear, clear = make_case(session, language="en"), make_case(session, language="en")
    apply_triage(session, unclear, inbound(session, unclear, "hello? please"), LEXICON)
    apply_triage(session, clear, inbound(session, clear, "I have not been paid for 3 months"), LEXICON)
    policy = load_sla_policy()
    for case in (unclear, clear):
        set_deadlines(case, policy)
    assert unclear.needs_human_triage and not clear.needs_human_triage
    assert unclear.first_response_due_at < clear.first_response_due_at  # the high clock, not the normal one
    confirm_triage(session, unclear, staff.id)
    assert not unclear.needs_human_triage
    again = make_case(session, language="en")
    apply_triage(session, again, inbound(session, again, "hello?"), LEXICON)
    override_triage(session, again, staff.id, category="housing")
    assert not again.needs_human_triage
    actions = set(session.exec(select(CaseEvent.action)).all())
    assert {"triage_confirmed", "triage_overridden"} <= actions


def test_a_follow_up_that_reveals_danger_raises_an_alert(session: Session) -> None:
    from casework.pipeline import triage_step
    from casework.sla import load_sla_policy

    case = make_case(session, language="en")
    policy = load_sla_policy()
    triage_step(session, inbound(session, case, "they do not pay my salary"), case, lexicon=LEXICON, policy=policy)
    assert case.urgency != Urgency.CRITICAL
    triage_step(
        session, inbound(session, case, "now he beats me and locked me in"), case, lexicon=LEXICON, policy=policy
    )
    assert case.urgency == Urgency.CRITICAL
    alerts = session.exec(select(CaseEvent).where(CaseEvent.action == "alert_raised")).all()
    assert len(alerts) == 1 and alerts[0].case_id == case.id
