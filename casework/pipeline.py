"""The intake pipeline: the steps a stored inbound message goes through once it joins a case.

Language detection and translation come first, so triage and routing read the translation
too; then triage (category, urgency, country, sector, names; SLA clocks), then routing (rules
as data). An urgent case records an alert (`casework/alerts.py`), which the app delivers.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from sqlmodel import Session, col, select

from casework.alerts import raise_urgent_alert
from casework.intake import IntakeServices, IntakeStep
from casework.models import Case, CaseStatus, Direction, Message, Urgency
from casework.notifications import notify_follow_up
from casework.routing import current_rules, route_case
from casework.sla import SlaPolicy, set_deadlines
from casework.translation import TranslationService, detect_and_translate
from casework.triage import Lexicon, apply_triage


def triage_step(session: Session, message: Message, case: Case, *, lexicon: Lexicon, policy: SlaPolicy) -> None:
    """Category, urgency, country, sector and names from the message; then the SLA clocks."""
    if case.status == CaseStatus.CLOSED:
        return
    before = case.urgency
    apply_triage(session, case, message, lexicon)
    set_deadlines(case, policy)
    if case.urgency == Urgency.CRITICAL and before != Urgency.CRITICAL:
        raise_urgent_alert(session, case)  # a follow-up that reveals danger alerts at once too


def routing_step(session: Session, message: Message, case: Case, *, rules_path: str | Path) -> None:
    """Route by the rules in force; an urgent case records its alert (once)."""
    if case.status == CaseStatus.CLOSED:
        return
    decision = route_case(session, case, current_rules(session, rules_path))
    if decision.alert:
        raise_urgent_alert(session, case)


def follow_up_step(session: Session, message: Message, case: Case) -> None:
    """A message on a case that already had one from the reporter notifies whoever holds it."""
    earlier = session.exec(
        select(Message.id).where(
            Message.case_id == case.id, Message.direction == Direction.INBOUND, col(Message.id) < message.id
        )
    ).first()
    if earlier is not None:
        notify_follow_up(session, case, message)


def intake_steps(
    *,
    translator: TranslationService,
    working_language: str,
    lexicon: Lexicon,
    policy: SlaPolicy,
    rules_path: str | Path,
) -> tuple[IntakeStep, ...]:
    """The steps in order: translation, triage, routing, then the follow-up notification."""
    return (
        partial(detect_and_translate, translator=translator, working_language=working_language),
        partial(triage_step, lexicon=lexicon, policy=policy),
        partial(routing_step, rules_path=rules_path),
        follow_up_step,
    )


def intake_services(
    *,
    translator: TranslationService,
    working_language: str,
    lexicon: Lexicon,
    policy: SlaPolicy,
    rules_path: str | Path,
) -> IntakeServices:
    """What `casework.intake.process_inbound` needs: the working language, translator and steps."""
    steps = intake_steps(
        translator=translator, working_language=working_language, lexicon=lexicon, policy=policy, rules_path=rules_path
    )
    return IntakeServices(working_language=working_language, translator=translator, steps=steps)
