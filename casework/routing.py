"""Assignment of cases to staff: by hand (`assign_case`), or by the routing rules (`route_case`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import func
from sqlmodel import Session, col, select

from casework.audit import record_event
from casework.cases import OPEN_STATUSES, transition
from casework.editing import CaseworkError, check_editable
from casework.models import Case, CaseStatus, Category, Role, Route, RoutingRuleSet, StaffUser, Urgency, utcnow
from casework.notes import reason_detail
from casework.notifications import notify_assigned

# Who can hold a case on each route: investigation is an ombudsperson's work, mediation a
# mediator's; an untriaged case (no route yet) goes to an ombudsperson.
ROLES_FOR_ROUTE: dict[Route | None, frozenset[Role]] = {
    Route.OMBUDSPERSON: frozenset({Role.OMBUDSPERSON}),
    Route.MEDIATION: frozenset({Role.MEDIATOR}),
    None: frozenset({Role.OMBUDSPERSON}),
}


# A case counts towards its assignee's workload until it is resolved.
ACTIVE_STATUSES = tuple(s for s in OPEN_STATUSES if s is not CaseStatus.RESOLVED)


class AssignmentError(CaseworkError):
    """The case cannot be assigned to that user (inactive, wrong role, closed case, …)."""


def roles_for(route: Route | str | None) -> frozenset[Role]:
    return ROLES_FOR_ROUTE[Route(route) if route else None]


def assign_case(
    session: Session,
    case: Case,
    assignee_id: int,
    actor_id: int | None,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Case:
    """Assign (or transfer) `case` to `assignee_id`; a new or triaged case becomes assigned.

    Raises AssignmentError (inactive or wrong-role user, closed case, same assignee) or
    StaleCase, and changes nothing then.
    """
    check_editable(case, expected_version, error=AssignmentError)
    assignee = session.get(StaffUser, assignee_id) if isinstance(assignee_id, int) else None
    if assignee is None:
        raise AssignmentError(f"no staff user with id {assignee_id!r}")
    if not assignee.active:
        raise AssignmentError(f"{assignee.display_name or assignee.email} is inactive and cannot take cases")
    allowed = roles_for(case.route)
    if Role(assignee.role) not in allowed:
        route = case.route or "untriaged"
        raise AssignmentError(
            f"{route} cases go to role {' or '.join(sorted(allowed))}; this user's role is {assignee.role}"
        )
    if case.assignee_id == assignee.id:
        raise AssignmentError("the case is already assigned to this user")
    detail = reason_detail(session, case, actor_id, reason)
    previous = case.assignee_id
    case.assignee_id = assignee.id
    case.updated_at = now or utcnow()
    session.add(case)
    if case.status in (CaseStatus.NEW, CaseStatus.TRIAGED):
        transition(session, case, CaseStatus.ASSIGNED, actor_id=actor_id, reason="assigned", now=now)
    record_event(
        session,
        action="case_transferred" if previous else "case_assigned",
        case_id=case.id,
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        **{"from": previous, "to": assignee.id},
        **detail,
    )
    notify_assigned(session, case, actor_id=actor_id, moment=case.updated_at)
    return case


# --- routing rules (data) ---------------------------------------------------------------------

DEFAULT_RULES_PATH = Path(__file__).with_name("data") / "routing_rules.yaml"
CONDITION_KEYS = ("category", "urgency", "language", "country", "sector")
MAX_RULES_BYTES = 64 * 1024


class RoutingRulesError(ValueError):
    """The routing rules are malformed; the message names the bad rule."""


@dataclass(frozen=True)
class RoutingRule:
    name: str
    route: Route
    team: str | None
    when: dict[str, frozenset[str]]

    def matches(self, case: Case) -> bool:
        for key, allowed in self.when.items():
            value = getattr(case, key)
            if value is None or str(value) not in allowed:
                return False
        return True


def parse_rules(text: str) -> list[RoutingRule]:
    """Parse and validate routing rules YAML; raise RoutingRulesError naming the bad rule."""
    if len(text.encode()) > MAX_RULES_BYTES:
        raise RoutingRulesError(f"routing rules are larger than {MAX_RULES_BYTES} bytes")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RoutingRulesError(f"routing rules are not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list) or not data["rules"]:
        raise RoutingRulesError("routing rules must be a mapping with a non-empty 'rules' list")
    allowed_values = {"category": {c.value for c in Category}, "urgency": {u.value for u in Urgency}}
    rules: list[RoutingRule] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["rules"], start=1):
        label = f"rule {index}"
        if not isinstance(raw, dict):
            raise RoutingRulesError(f"{label}: must be a mapping with name, route and optional when/team")
        name = raw.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.\- ]{1,64}", name):
            raise RoutingRulesError(f"{label}: needs a name (letters, digits, - _ . and spaces, up to 64)")
        label = f"rule {index} ({name!r})"
        if name in seen:
            raise RoutingRulesError(f"{label}: the name is used twice")
        seen.add(name)
        unknown = set(raw) - {"name", "route", "team", "when"}
        if unknown:
            raise RoutingRulesError(f"{label}: unknown key {sorted(unknown)[0]!r}")
        try:
            route = Route(str(raw.get("route")))
        except ValueError:
            raise RoutingRulesError(f"{label}: route must be one of {', '.join(r.value for r in Route)}") from None
        team = raw.get("team")
        if team is not None and not (isinstance(team, str) and re.fullmatch(r"[a-z0-9_\-]{1,64}", team)):
            raise RoutingRulesError(f"{label}: team must be a short lower-case code such as investigations")
        when_raw = raw.get("when") or {}
        if not isinstance(when_raw, dict):
            raise RoutingRulesError(f"{label}: 'when' must map conditions to lists of values")
        when: dict[str, frozenset[str]] = {}
        for key, values in when_raw.items():
            if key not in CONDITION_KEYS:
                raise RoutingRulesError(f"{label}: unknown condition {key!r}; use {', '.join(CONDITION_KEYS)}")
            if isinstance(values, str):
                values = [values]
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise RoutingRulesError(f"{label}: condition {key!r} needs a list of values")
            if key in allowed_values:
                bad = [v for v in values if v not in allowed_values[key]]
                if bad:
                    raise RoutingRulesError(
                        f"{label}: {bad[0]!r} is not a {key}; use {', '.join(sorted(allowed_values[key]))}"
                    )
            if key == "country":
                values = [v.upper() for v in values]
            when[key] = frozenset(values)
        if route is Route.MEDIATION and Urgency.CRITICAL.value in when.get("urgency", frozenset()):
            raise RoutingRulesError(f"{label}: critical cases must go to an ombudsperson, not to mediation")
        rules.append(RoutingRule(name=name, route=route, team=team, when=when))
    if rules[-1].when:
        raise RoutingRulesError(f"the last rule ({rules[-1].name!r}) must have no conditions, so every case is routed")
    return rules


@lru_cache(maxsize=8)
def load_rules_file(path: str | Path = DEFAULT_RULES_PATH) -> tuple[RoutingRule, ...]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RoutingRulesError(f"cannot read routing rules {path}: {exc}") from None
    try:
        return tuple(parse_rules(text))
    except RoutingRulesError as exc:
        raise RoutingRulesError(f"{path}: {exc}") from None


@lru_cache(maxsize=8)
def _parsed_saved(rule_set_id: int, body: str) -> tuple[RoutingRule, ...]:
    return tuple(parse_rules(body))


def latest_rule_set(session: Session) -> RoutingRuleSet | None:
    return session.exec(select(RoutingRuleSet).order_by(col(RoutingRuleSet.id).desc()).limit(1)).first()


def current_rules_text(session: Session, default_path: str | Path = DEFAULT_RULES_PATH) -> tuple[str, int | None]:
    """The rules in force as YAML text, and the saved version's id (None: the file's defaults)."""
    saved = latest_rule_set(session)
    if saved is not None:
        return saved.body, saved.id
    return Path(default_path).read_text(encoding="utf-8"), None


def current_rules(session: Session, default_path: str | Path = DEFAULT_RULES_PATH) -> tuple[RoutingRule, ...]:
    """The rules in force: the newest version an admin saved, else the YAML file."""
    saved = latest_rule_set(session)
    if saved is not None and saved.id is not None:
        return _parsed_saved(saved.id, saved.body)
    return load_rules_file(str(default_path))


def save_rules(session: Session, text: str, actor_id: int | None) -> RoutingRuleSet:
    """Validate and store a new version of the rules (audited); raises RoutingRulesError."""
    rules = parse_rules(text)
    rule_set = RoutingRuleSet(body=text, saved_by_id=actor_id)
    session.add(rule_set)
    session.flush()
    record_event(
        session,
        action="routing_rules_saved",
        actor_id=actor_id,
        actor_kind="staff" if actor_id else "system",
        rule_set_id=rule_set.id,
        rules=[r.name for r in rules],
    )
    return rule_set


def choose_rule(rules: tuple[RoutingRule, ...] | list[RoutingRule], case: Case) -> RoutingRule:
    return next(rule for rule in rules if rule.matches(case))  # the last rule matches everything


def open_load(session: Session, user_ids: list[int]) -> dict[int, int]:
    """Open (unresolved) cases per user, in one grouped query."""
    if not user_ids:
        return {}
    statement = (
        select(Case.assignee_id, func.count())
        .where(col(Case.assignee_id).in_(user_ids), col(Case.status).in_(ACTIVE_STATUSES))
        .group_by(col(Case.assignee_id))
    )
    counts = {int(uid): int(n) for uid, n in session.exec(statement).all() if uid is not None}
    return {uid: counts.get(uid, 0) for uid in user_ids}


def pick_assignee(
    session: Session, route: Route, team: str | None, language: str | None
) -> tuple[StaffUser | None, str]:
    """The least-loaded active staff member for `route`, preferring the team and the language.

    Fallback order: team + language, any team + language, team, anyone with the role. Returns
    (user or None, which tier matched).
    """
    roles = [r.value for r in roles_for(route)]
    staff = list(
        session.exec(
            select(StaffUser).where(
                StaffUser.active == True,  # noqa: E712
                col(StaffUser.role).in_(roles),
            )
        ).all()
    )
    if not staff:
        return None, "none"
    load = open_load(session, [s.id for s in staff if s.id is not None])

    def speaks(user: StaffUser) -> bool:
        return language is not None and language in (user.languages or [])

    tiers = [
        ("team+language", lambda u: (team is None or u.team == team) and speaks(u)),
        ("language", speaks),
        ("team", lambda u: team is not None and u.team == team),
        ("role", lambda u: True),
    ]
    for tier, keep in tiers:
        pool = [u for u in staff if keep(u)]
        if pool:
            return min(pool, key=lambda u: (load.get(u.id or 0, 0), u.id or 0)), tier
    return None, "none"


@dataclass(frozen=True)
class RoutingDecision:
    rule: str
    route: Route
    team: str | None
    assignee_id: int | None
    tier: str
    alert: bool  # critical: staff on duty must be told now


def route_case(
    session: Session, case: Case, rules: tuple[RoutingRule, ...] | list[RoutingRule], now: datetime | None = None
) -> RoutingDecision:
    """Route an unassigned case by the rules and assign it to the best-placed person (audited).

    Critical cases always go to an ombudsperson, whatever the rules say, and ask for an alert.
    A case already assigned keeps its assignee; only its route and team are set if missing.
    """
    rule = choose_rule(rules, case)
    critical = case.urgency == Urgency.CRITICAL
    route = Route.OMBUDSPERSON if critical else rule.route
    team = rule.team
    if case.assignee_id is not None:
        holder = session.get(StaffUser, case.assignee_id)
        # A case that turns critical while with a mediator moves to an ombudsperson now.
        if not (critical and holder is not None and Role(holder.role) not in roles_for(Route.OMBUDSPERSON)):
            return RoutingDecision(
                rule=rule.name,
                route=Route(case.route or route),
                team=case.team,
                assignee_id=case.assignee_id,
                tier="kept",
                alert=critical,
            )
    case.route = route
    case.team = team
    session.add(case)
    assignee, tier = pick_assignee(session, route, team, case.language)
    record_event(
        session,
        action="routed",
        case_id=case.id,
        rule=rule.name,
        route=route.value,
        team=team,
        tier=tier,
        assignee_id=assignee.id if assignee else None,
        critical=critical,
    )
    if assignee is not None and assignee.id is not None and assignee.id != case.assignee_id:
        assign_case(session, case, assignee.id, None, reason=f"rule_{tier.replace('+', '_')}", now=now)
    return RoutingDecision(
        rule=rule.name, route=route, team=team, assignee_id=assignee.id if assignee else None, tier=tier, alert=critical
    )
