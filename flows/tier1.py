"""Tier 1, declared as steps: triage by a live operator.

Every escalation lands in `tier1.intake` (the state name is `flows.entry.TIER1_INTAKE`, the
contract between the tiers), which says whether operators are live and asks who is asking.
Someone who may not discuss the case gets general information only; the others name the
issue (the list is `config/tier1_knowledge.toml`), answer the in-person questions when the
issue needs a visit, and are then resolved at Tier 1 (knowledge base or a service request)
or referred to a Tier 2 officer. Who may discuss a case, where an issue goes, how urgent it
is and whether a visit is justified are the pure rules of `flows.triage`,
`flows.live_hours` and `flows.inperson_decision`; each route records the rule id it used.
"""

from __future__ import annotations

from enum import StrEnum

from flows.automated_status import receipt_in_place
from flows.entry import TIER1_INTAKE
from flows.facts import Facts
from flows.inperson_decision import (
    InPersonDecision,
    InPersonOutcome,
    InPersonRequest,
    decide_in_person,
)
from flows.live_hours import OFF_DUTY_TEXT, operators_live
from flows.state import CallbackDraft, TriageAnswers
from flows.steps import (
    FINISH,
    MENU,
    DayName,
    Decision,
    Say,
    Shown,
    Step,
    Tier,
    choice,
    decide,
    route,
    say,
    shown,
    stay,
)
from flows.triage import (
    ROLE_REFUSAL_TEXT,
    ROLES,
    TriageRule,
    decide_role,
    qualified,
    rate_urgency,
)
from flows.triage import route as triage_route

GENERAL = "tier1.general"
ISSUE = "tier1.issue"
INPERSON = "tier1.inperson"
EVIDENCE = "tier1.evidence"
RESOLVED = "tier1.resolved"
TIER2_SLOTS = "tier2.slots"  # declared in flows.tier2; a referral lands there

# Choice kinds (button data "role:<role>", "issue:<id>", "need:<category>", ...).
ROLE, ISSUE_KIND, NEED, EVIDENCE_KIND, TOPIC, ASK_OFFICER = (
    "role",
    "issue",
    "need",
    "evidence",
    "kb",
    "t1:officer",
)


class Tier1Effect(StrEnum):
    OPEN_SERVICE_REQUEST = "tier1.open_service_request"


CASE_ON_FILE = "case_on_file"  # loader: the case of the receipt looked up earlier


def _triage(f: Facts) -> TriageAnswers:
    return f.state.triage or TriageAnswers()


def _hours_params(f: Facts) -> dict[str, object]:
    hours = f.policy.live_hours
    return {"opens": hours.opens, "closes": hours.closes}


# ---- intake: who is asking -------------------------------------------------------------------


def _show_intake(f: Facts) -> Shown:
    """Whether operators are off comes first, with when they are back: nobody is told they
    are being passed to an operator who is not there."""
    live = operators_live(f.now, f.policy.live_hours)
    if live.open:
        says = [say("tier1.handed_over")]
    else:
        reopens = live.reopens or f.now
        says = [
            say(
                OFF_DUTY_TEXT[live.rule],
                MENU,
                holiday=live.holiday or "",
                next_day=DayName(reopens.date()),
                next_time=reopens.time(),
                **_hours_params(f),
            )
        ]
    says.append(say("tier1.role.prompt"))
    # A new inquiry: nothing of an older triage or booking carries over.
    state = f.state.but(triage=TriageAnswers(live=live.open), callback=None)
    return Shown(
        tuple(says),
        tuple(choice(ROLE, f"tier1.role.button.{r}", r) for r in ROLES),
        state=state,
    )


def _role(f: Facts) -> str | None:
    return f.answer.arg if f.answer.kind == ROLE and f.answer.arg in ROLES else None


def _may_not_discuss(f: Facts) -> Decision | None:
    role = _role(f)
    if role is None:
        return None
    decision = decide_role(role)
    if decision.may_discuss_case:
        return None
    return decide(decision.rule, say(ROLE_REFUSAL_TEXT[decision.rule]))


def _may_discuss(f: Facts) -> Decision | None:
    role = _role(f)
    if role is None:
        return None
    decision = decide_role(role)
    case = f.loaded.case_on_file
    says = (
        [say("tier1.role.case_on_file", receipt=case.receipt_number, status=case.status_title)]
        if case is not None
        else []
    )
    # The role travels with the inquiry: the officer who takes it sees who is asking.
    return decide(decision.rule, *says, state=f.state.but(triage=_triage(f).but(role=role)))


INTAKE = Step(
    TIER1_INTAKE,
    "Handed to a Tier 1 operator: live hours are checked and the operator asks who is asking.",
    show=_show_intake,
    kinds=(ROLE,),
    routes=(
        route(
            "general_only",
            GENERAL,
            _may_not_discuss,
            "Only the applicant, petitioner or a G-28 representative may discuss a case.",
        ),
        route(
            "ask_issue",
            ISSUE,
            _may_discuss,
            "The person may discuss the case; triage continues.",
            needs=(CASE_ON_FILE,),
        ),
    ),
)


# ---- general information only ------------------------------------------------------------------


def _show_general(f: Facts) -> Shown:
    topics = [choice(TOPIC, t.label, t.id) for t in f.policy.knowledge.general_topics()]
    return shown(say("tier1.general.prompt"), choices=[*topics, MENU])


def _general_topic(f: Facts) -> Decision | None:
    if f.answer.kind != TOPIC:
        return None
    topic = f.policy.knowledge.topic(f.answer.arg)
    if topic is None or not topic.general:
        return None
    return decide(
        qualified(TriageRule.GENERAL_TOPIC, topic.id),
        say(topic.answer, **_hours_params(f)),
        again=True,
    )


GENERAL_STEP = Step(
    GENERAL,
    "General information only: the person may not discuss the case.",
    show=_show_general,
    kinds=(TOPIC,),
    routes=(stay(_general_topic, "A general topic is answered; the topics stay on offer."),),
)


# ---- the issue ---------------------------------------------------------------------------------


def _show_issue(f: Facts) -> Shown:
    issues = [choice(ISSUE_KIND, i.label, i.id) for i in f.policy.knowledge.issues]
    return shown(say("tier1.issue.prompt"), choices=issues)


def _named_issue(f: Facts) -> str | None:
    if f.answer.kind != ISSUE_KIND:
        return None
    issue = f.policy.knowledge.issue(f.answer.arg)
    return issue.id if issue is not None else None


def _needs_visit_questions(f: Facts) -> Decision | None:
    issue_id = _named_issue(f)
    issue = f.policy.knowledge.issue(issue_id) if issue_id else None
    if issue is None or not issue.inperson:
        return None
    return decide(
        qualified(TriageRule.INPERSON, issue.id),
        state=f.state.but(triage=_triage(f).but(issue=issue.id)),
    )


def _triaged(f: Facts, outcome: str) -> Decision | None:
    issue = _named_issue(f)
    if issue is None:
        return None
    knowledge = f.policy.knowledge
    decision = triage_route(
        issue,
        operators_live=_triage(f).live,
        knowledge=knowledge.resolving(),
        service_request_issues=knowledge.service_request_issues,
    )
    if decision.outcome != outcome:
        return None
    state = f.state.but(triage=_triage(f).but(issue=issue))
    if outcome == "knowledge_base":
        topic = knowledge.topic(decision.topic or "")
        assert topic is not None  # resolving() only names topics that exist
        return decide(decision.rule, say(topic.answer, **_hours_params(f)), state=state)
    if outcome == "service_request":
        return decide(decision.rule, state=state)  # the effect says the number
    return _refer(f.but(state=state), decision.rule, None)


ISSUE_STEP = Step(
    ISSUE,
    "The operator asks what the issue is.",
    show=_show_issue,
    kinds=(ISSUE_KIND,),
    routes=(
        route(
            "ask_inperson",
            INPERSON,
            _needs_visit_questions,
            "The issue may need an in-person visit.",
        ),
        route(
            "resolve",
            RESOLVED,
            lambda f: _triaged(f, "knowledge_base"),
            "The knowledge base settles the issue.",
        ),
        route(
            "resolve",
            RESOLVED,
            lambda f: _triaged(f, "service_request"),
            "A service request settles the issue while operators are live.",
            effect=Tier1Effect.OPEN_SERVICE_REQUEST,
        ),
        route(
            "refer_officer",
            TIER2_SLOTS,
            lambda f: _triaged(f, "tier2"),
            "The issue needs a Tier 2 officer: a callback is booked.",
        ),
    ),
)


# ---- in-person need ---------------------------------------------------------------------


def _show_inperson(f: Facts) -> Shown:
    needs = [choice(NEED, f"tier1.inperson.button.{c}", c) for c in f.policy.inperson.categories()]
    return shown(say("tier1.inperson.prompt"), choices=needs)


def _category(f: Facts) -> str | None:
    if f.answer.kind != NEED or f.answer.arg not in f.policy.inperson.categories():
        return None
    return f.answer.arg


def _emergency(f: Facts) -> bool:
    issue = f.policy.knowledge.issue(_triage(f).issue or "")
    return issue is not None and issue.emergency


def _likely(decision: InPersonDecision) -> list[Say]:
    key = "tier1.likely.visit" if decision.justified else "tier1.likely.phone"
    says = [Say(key, {"why": Say(decision.explanation)})]
    if decision.walk_in_guidance:
        says.append(say("tier1.likely.walk_in"))
    return says


def _can_justify(f: Facts) -> Decision | None:
    category = _category(f)
    if category is None:
        return None
    rule = f.policy.inperson.rule_for(category)
    if not rule.justified:
        return None
    return decide(
        f"{rule.id}.{InPersonOutcome.CAN_JUSTIFY}",
        state=f.state.but(triage=_triage(f).but(inperson_category=category)),
    )


def _never_justified(f: Facts) -> Decision | None:
    """Nothing the applicant could add would justify a visit (a case-status question): say
    what will happen instead, and settle it here."""
    category = _category(f)
    if category is None or f.policy.inperson.rule_for(category).justified:
        return None
    decision = decide_in_person(
        InPersonRequest(category, emergency=_emergency(f), has_evidence=False), f.policy.inperson
    )
    return decide(
        decision.rule_id,
        *_likely(decision),
        say("tier1.kb.case_status_online.answer"),
        state=f.state.but(triage=_triage(f).but(inperson_category=category)),
    )


INPERSON_STEP = Step(
    INPERSON,
    "The operator asks what the in-person visit would be for.",
    show=_show_inperson,
    kinds=(NEED,),
    routes=(
        route(
            "ask_evidence",
            EVIDENCE,
            _can_justify,
            "The visit category can justify a visit if the need is shown.",
        ),
        route(
            "resolve",
            RESOLVED,
            _never_justified,
            "The visit could never be justified; Tier 1 answers the question.",
        ),
    ),
)


def _evidence(f: Facts) -> Decision | None:
    if f.answer.kind != EVIDENCE_KIND or f.answer.arg not in ("yes", "no"):
        return None
    triage = _triage(f)
    decision = decide_in_person(
        InPersonRequest(
            triage.inperson_category or "other",
            emergency=_emergency(f),
            has_evidence=f.answer.arg == "yes",
        ),
        f.policy.inperson,
    )
    return _refer(f, decision.rule_id, decision, *_likely(decision), evidence=f.answer.arg)


EVIDENCE_STEP = Step(
    EVIDENCE,
    "The operator asks whether documents show the need.",
    show=lambda f: shown(
        say("tier1.evidence.prompt"),
        choices=[
            choice(EVIDENCE_KIND, "tier1.evidence.yes", "yes"),
            choice(EVIDENCE_KIND, "tier1.evidence.no", "no"),
        ],
    ),
    kinds=(EVIDENCE_KIND,),
    routes=(
        route(
            "refer_officer",
            TIER2_SLOTS,
            _evidence,
            "The in-person decision is made; an officer calls back.",
        ),
    ),
)


# ---- settled at Tier 1, or up to Tier 2 ------------------------------------------------------


def _asked_for_officer(f: Facts) -> Decision | None:
    if f.answer.kind != ASK_OFFICER:
        return None
    return _refer(f, TriageRule.ASKED_AFTER_RESOLUTION, None)


RESOLVED_STEP = Step(
    RESOLVED,
    "Tier 1 settled the issue (knowledge base or service request).",
    show=lambda f: shown(
        say("tier1.resolved.prompt"),
        choices=[MENU, choice(ASK_OFFICER, "tier1.resolved.officer"), FINISH],
    ),
    kinds=(ASK_OFFICER,),
    routes=(
        route(
            "refer_officer",
            TIER2_SLOTS,
            _asked_for_officer,
            "Not settled after all: the applicant asks for an officer.",
        ),
    ),
)


def _urgent_issue(f: Facts) -> str | None:
    issue = f.policy.knowledge.issue(_triage(f).issue or "")
    return issue.id if issue is not None and issue.urgent else None


def _refer(
    f: Facts,
    rule: str,
    inperson: InPersonDecision | None,
    *first: Say,
    evidence: str | None = None,
) -> Decision:
    """Up to Tier 2: the callback draft carries the urgency and the in-person decision, and
    what the officer will read: who is asking, the rule that referred it, the answers."""
    triage = _triage(f)
    urgency = rate_urgency(_emergency(f), inperson, _urgent_issue(f))
    draft = CallbackDraft(
        issue=triage.issue or "something_else",
        role=triage.role,
        triage_rule=str(rule),
        evidence=evidence,
        urgent=urgency.urgent,
        urgency_rule=urgency.rule,
        inperson_category=triage.inperson_category if inperson else None,
        inperson_justified=inperson.justified if inperson else None,
        inperson_rule=inperson.rule_id if inperson else None,
        walk_in_said=bool(inperson and inperson.walk_in_guidance),
    )
    refer = say("tier1.refer.officer" if triage.live else "tier1.refer.after_hours")
    note = (
        say("tier1.likely.urgent")
        if urgency.urgent
        else say("tier1.likely.regular", days=f.policy.callbacks.regular_business_days)
    )
    return decide(rule, *first, refer, note, state=f.state.but(callback=draft))


TIER = Tier(
    name="tier1",
    steps=(INTAKE, GENERAL_STEP, ISSUE_STEP, INPERSON_STEP, EVIDENCE_STEP, RESOLVED_STEP),
    intercepts=(receipt_in_place(),),
    intercept_prefix="tier1.",
)
