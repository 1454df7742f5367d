"""Routing rules as data: validation, first-match routing, least-loaded assignment with fallbacks."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from casework.models import CaseEvent, CaseStatus, Role, Route, Urgency
from casework.routing import (
    RoutingRulesError,
    current_rules,
    current_rules_text,
    load_rules_file,
    parse_rules,
    route_case,
    save_rules,
)
from tests.factories import make_case, make_staff

RULES = load_rules_file()


@pytest.mark.parametrize(
    ("label", "text", "message"),
    [
        ("not YAML", "rules: [", "not valid YAML"),
        ("no rules", "rules: []", "non-empty 'rules' list"),
        ("bad route", "rules:\n- {name: a, route: court}", r"rule 1 \('a'\): route must be one of"),
        (
            "unknown condition",
            "rules:\n- {name: a, route: mediation, when: {colour: [red]}}\n- {name: b, route: mediation}",
            r"rule 1 \('a'\): unknown condition 'colour'",
        ),
        (
            "unknown category",
            "rules:\n- {name: a, route: mediation, when: {category: [theft]}}\n- {name: b, route: mediation}",
            r"rule 1 \('a'\): 'theft' is not a category",
        ),
        (
            "critical to mediation",
            "rules:\n- {name: a, route: mediation, when: {urgency: [critical]}}\n- {name: b, route: mediation}",
            "critical cases must go to an ombudsperson",
        ),
        ("no catch-all", "rules:\n- {name: a, route: mediation, when: {urgency: [low]}}", "must have no conditions"),
        ("duplicate name", "rules:\n- {name: a, route: mediation}\n- {name: a, route: mediation}", "used twice"),
        ("bad team", "rules:\n- {name: a, route: mediation, team: 'Team X!'}", "team must be"),
    ],
)
def test_bad_rules_are_refused_naming_the_rule(label: str, text: str, message: str) -> None:
    with pytest.raises(RoutingRulesError, match=message):
        parse_rules(text)


@pytest.mark.parametrize(
    ("label", "fields", "rule", "route"),
    [
        (
            "critical goes to an ombudsperson",
            {"urgency": Urgency.CRITICAL, "category": "wage_theft"},
            "danger-to-life",
            Route.OMBUDSPERSON,
        ),
        (
            "wages, normal urgency, to mediation",
            {"category": "wage_theft"},
            "money-disputes-to-mediation",
            Route.MEDIATION,
        ),
        (
            "wages, high urgency, to ombudsperson",
            {"category": "wage_theft", "urgency": Urgency.HIGH},
            "everything-else",
            Route.OMBUDSPERSON,
        ),
        (
            "violence to investigations",
            {"category": "harassment_violence"},
            "forced-labour-and-violence",
            Route.OMBUDSPERSON,
        ),
    ],
)
def test_first_matching_rule_routes(
    session: Session, label: str, fields: dict[str, object], rule: str, route: Route
) -> None:
    case = make_case(session, **fields)
    decision = route_case(session, case, RULES)
    assert (decision.rule, decision.route, case.route) == (rule, route, route), label
    assert decision.alert is (case.urgency == Urgency.CRITICAL)


def test_least_loaded_speaker_of_the_language_in_the_team_gets_the_case(session: Session) -> None:
    busy = make_staff(session, Role.MEDIATOR, languages=["tl", "en"], team="mediation")
    free = make_staff(session, Role.MEDIATOR, languages=["tl"], team="mediation")
    make_staff(session, Role.MEDIATOR, languages=["en"], team="mediation")  # does not speak Tagalog
    make_staff(session, Role.MEDIATOR, languages=["tl"], team="mediation", active=False)
    make_staff(session, Role.OMBUDSPERSON, languages=["tl"])  # wrong role for mediation
    make_case(session, assignee_id=busy.id, status=CaseStatus.ASSIGNED, route=Route.MEDIATION)
    case = make_case(session, category="wage_theft", language="tl")
    decision = route_case(session, case, RULES)
    session.commit()
    assert (decision.assignee_id, decision.tier) == (free.id, "team+language")
    assert case.assignee_id == free.id and case.status == CaseStatus.ASSIGNED and case.team == "mediation"
    routed = session.exec(select(CaseEvent).where(CaseEvent.action == "routed")).one()
    assert routed.detail["rule"] == "money-disputes-to-mediation"


def test_fallbacks_when_nobody_speaks_the_language_or_nobody_has_the_role(session: Session) -> None:
    english = make_staff(session, Role.OMBUDSPERSON, languages=["en"])
    case = make_case(session, category="unsafe_work", language="am")
    assert route_case(session, case, RULES).tier == "role" and case.assignee_id == english.id
    lonely = make_case(session, category="wage_theft", language="am")
    decision = route_case(session, lonely, RULES)
    assert (decision.assignee_id, decision.tier) == (None, "none")
    assert lonely.status == CaseStatus.NEW and lonely.route == Route.MEDIATION


def test_case_turning_critical_moves_from_mediator_to_ombudsperson(session: Session) -> None:
    mediator = make_staff(session, Role.MEDIATOR)
    ombud = make_staff(session, Role.OMBUDSPERSON)
    case = make_case(
        session, category="wage_theft", route=Route.MEDIATION, assignee_id=mediator.id, status=CaseStatus.ASSIGNED
    )
    case.urgency = Urgency.CRITICAL
    decision = route_case(session, case, RULES)
    assert (case.route, case.assignee_id, decision.alert) == (Route.OMBUDSPERSON, ombud.id, True)


def test_saved_rules_take_over_from_the_file_and_are_audited(session: Session) -> None:
    admin = make_staff(session, Role.ADMIN)
    assert current_rules_text(session)[1] is None
    text = "rules:\n- {name: all-to-mediation, route: mediation}\n"
    saved = save_rules(session, text, admin.id)
    session.commit()
    assert [r.name for r in current_rules(session)] == ["all-to-mediation"]
    assert current_rules_text(session) == (text, saved.id)
    event = session.exec(select(CaseEvent).where(CaseEvent.action == "routing_rules_saved")).one()
    assert event.actor_id == admin.id and event.detail["rules"] == ["all-to-mediation"]
    with pytest.raises(RoutingRulesError):
        save_rules(session, "rules: [", admin.id)
