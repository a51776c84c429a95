"""Dialogs of Tier 1: the operator's triage (registered on import).

Every escalation arrives in `tier1.intake`. The handlers here ask and record; who may
discuss a case, where an issue goes, how urgent it is and whether a visit is justified are
decided by the pure rules in `flows.triage`, `flows.live_hours` and
`flows.inperson_decision`, and each transition records the rule id that moved it.
"""

from __future__ import annotations

from bot.dialogs.entry import finish_button
from bot.engine.dialogs import registry as dialogs
from bot.engine.services import Services
from bot.engine.turn import Turn
from bot.model import Button
from bot.storage.timefmt import to_db
from bot.tiers.config import tier_config
from bot.tiers.store import new_service_item
from flows import entry
from flows.inperson_decision import (
    INPERSON_CATEGORIES,
    InPersonDecision,
    InPersonRequest,
    decide_in_person,
)
from flows.live_hours import LiveHours, operators_live
from flows.triage import INPERSON_ISSUES, ISSUES, ROLES, decide_role, rate_urgency, route

ROLE, ISSUE, NEED, EVIDENCE, TOPIC = "role:", "issue:", "need:", "evidence:", "kb:"
ASK_OFFICER = "t1:officer"


@dialogs.on_setup
async def load_tier_configuration(services: Services) -> None:
    # Load (and validate) at start, so a bad policy file stops the service, not a turn.
    tier_config(services)


def _tier1(turn: Turn) -> dict:
    return turn.slots.setdefault("tier1", {})


def _choice(turn: Turn, prefix: str, allowed: tuple[str, ...]) -> str | None:
    data = turn.button or ""
    value = data[len(prefix) :] if data.startswith(prefix) else None
    return value if value in allowed else None


def _menu(turn: Turn) -> Button:
    return turn.btn("buttons.menu", "nav:menu")


# ---- intake: who is asking -----------------------------------------------------------------


@dialogs.on_enter(entry.TIER1_INTAKE)
async def handed_to_operator(turn: Turn) -> None:
    hours = LiveHours(turn.settings.tier1.live_opens, turn.settings.tier1.live_closes)
    live = operators_live(turn.now, hours)
    turn.slots.pop("tier2", None)  # a new inquiry: nothing of an older booking carries over
    turn.slots["tier1"] = {"live": live.open, "hours_rule": live.rule}
    turn.say("tier1.handed_over")
    if not live.open:
        turn.say(f"tier1.hours.{live.rule}", buttons=[_menu(turn)], holiday=live.holiday or "")
    turn.say(
        "tier1.role.prompt", buttons=[turn.btn(f"tier1.role.button.{r}", ROLE + r) for r in ROLES]
    )


@dialogs.on_input(entry.TIER1_INTAKE)
async def said_who_is_asking(turn: Turn) -> bool:
    role = _choice(turn, ROLE, ROLES)
    if role is None:
        return False
    decision = decide_role(role)
    _tier1(turn)["role"] = role
    if not decision.may_discuss_case:
        turn.say(f"tier1.role.why.{decision.rule.removeprefix('role.')}")
        await turn.fire("general_only", rule=decision.rule)
        return True
    receipt = turn.slots.get("receipt")
    if receipt:
        case = await turn.db.fetchone(
            "SELECT status_title FROM cases WHERE receipt_number = ?", (receipt,)
        )
        if case is not None:
            turn.say("tier1.role.case_on_file", receipt=receipt, status=case["status_title"])
    await turn.fire("ask_issue", rule=decision.rule)
    return True


# ---- general information only ----------------------------------------------------------------


@dialogs.on_enter("tier1.general")
async def offer_general_topics(turn: Turn) -> None:
    _say_general_topics(turn)


def _say_general_topics(turn: Turn) -> None:
    topics = tier_config(turn.services).knowledge.general_topics()
    buttons = [turn.btn(t.label, TOPIC + t.id) for t in topics]
    turn.say("tier1.general.prompt", buttons=[*buttons, _menu(turn)])


@dialogs.on_input("tier1.general")
async def chose_general_topic(turn: Turn) -> bool:
    knowledge = tier_config(turn.services).knowledge
    topic = knowledge.topic((turn.button or "").removeprefix(TOPIC))
    if not (turn.button or "").startswith(TOPIC) or topic is None or not topic.general:
        return False
    turn.say(topic.answer)
    _say_general_topics(turn)
    return True


# ---- the issue ---------------------------------------------------------------------------------


@dialogs.on_enter("tier1.issue")
async def ask_for_issue(turn: Turn) -> None:
    turn.say(
        "tier1.issue.prompt",
        buttons=[turn.btn(f"tier1.issue.button.{i}", ISSUE + i) for i in ISSUES],
    )


@dialogs.on_input("tier1.issue")
async def named_issue(turn: Turn) -> bool:
    issue = _choice(turn, ISSUE, ISSUES)
    if issue is None:
        return False
    t1 = _tier1(turn)
    t1["issue"] = issue
    if issue in INPERSON_ISSUES:
        await turn.fire("ask_inperson", rule=f"triage.inperson.{issue}")
        return True
    knowledge = tier_config(turn.services).knowledge
    decision = route(
        issue,
        operators_live=bool(t1.get("live")),
        knowledge=knowledge.resolving(),
        service_request_issues=knowledge.service_request_issues,
    )
    if decision.outcome == "knowledge_base" and decision.topic is not None:
        topic = knowledge.topic(decision.topic)
        assert topic is not None  # resolving() only names topics that exist
        turn.say(topic.answer)
        await turn.fire("resolve", rule=decision.rule)
    elif decision.outcome == "service_request":
        number = new_service_item()
        turn.write(
            "INSERT INTO service_requests (service_item, channel, user_id, issue, receipt, rule,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                turn.key.channel,
                turn.key.user_id,
                issue,
                turn.slots.get("receipt"),
                decision.rule,
                to_db(turn.now),
            ),
            expect_rows=1,
        )
        turn.say("tier1.service_request.opened", number=number)
        await turn.fire("resolve", rule=decision.rule)
    else:
        await _refer_to_officer(turn, issue, None, decision.rule)
    return True


# ---- in-person need ---------------------------------------------------------------------------


@dialogs.on_enter("tier1.inperson")
async def ask_what_visit_is_for(turn: Turn) -> None:
    turn.say(
        "tier1.inperson.prompt",
        buttons=[turn.btn(f"tier1.inperson.button.{c}", NEED + c) for c in INPERSON_CATEGORIES],
    )


@dialogs.on_input("tier1.inperson")
async def named_visit_purpose(turn: Turn) -> bool:
    category = _choice(turn, NEED, INPERSON_CATEGORIES)
    if category is None:
        return False
    t1 = _tier1(turn)
    t1["inperson_category"] = category
    policy = tier_config(turn.services).policy
    rule = next(r for r in policy.rules if r.category == category)
    if rule.justified:
        await turn.fire("ask_evidence", rule=f"{rule.id}.can_justify")
        return True
    # Nothing the applicant could add would justify a visit (a case-status question): say
    # what will happen instead, and settle it here.
    decision = decide_in_person(_request(t1, has_evidence=False), policy)
    _say_likely_outcome(turn, decision)
    turn.say("tier1.kb.case_status_online.answer")
    await turn.fire("resolve", rule=decision.rule_id)
    return True


@dialogs.on_enter("tier1.evidence")
async def ask_for_evidence(turn: Turn) -> None:
    turn.say(
        "tier1.evidence.prompt",
        buttons=[
            turn.btn("tier1.evidence.yes", EVIDENCE + "yes"),
            turn.btn("tier1.evidence.no", EVIDENCE + "no"),
        ],
    )


@dialogs.on_input("tier1.evidence")
async def answered_evidence(turn: Turn) -> bool:
    answer = _choice(turn, EVIDENCE, ("yes", "no"))
    if answer is None:
        return False
    t1 = _tier1(turn)
    decision = decide_in_person(
        _request(t1, has_evidence=answer == "yes"), tier_config(turn.services).policy
    )
    _say_likely_outcome(turn, decision)
    await _refer_to_officer(turn, t1["issue"], decision, decision.rule_id)
    return True


def _request(t1: dict, *, has_evidence: bool) -> InPersonRequest:
    return InPersonRequest(
        t1["inperson_category"], emergency=t1.get("issue") == "emergency", has_evidence=has_evidence
    )


def _say_likely_outcome(turn: Turn, decision: InPersonDecision) -> None:
    why = turn.t(decision.explanation)
    turn.say("tier1.likely.visit" if decision.justified else "tier1.likely.phone", why=why)
    if decision.walk_in_guidance:
        turn.say("tier1.likely.walk_in")


# ---- settled at Tier 1, or up to Tier 2 ------------------------------------------------------


@dialogs.on_enter("tier1.resolved")
async def offer_more_help(turn: Turn) -> None:
    turn.say(
        "tier1.resolved.prompt",
        buttons=[_menu(turn), turn.btn("tier1.resolved.officer", ASK_OFFICER), finish_button(turn)],
    )


@dialogs.on_input("tier1.resolved")
async def asked_for_officer(turn: Turn) -> bool:
    if turn.button != ASK_OFFICER:
        return False
    issue = _tier1(turn).get("issue", "something_else")
    await _refer_to_officer(turn, issue, None, "triage.officer.asked_after_resolution")
    return True


async def _refer_to_officer(
    turn: Turn, issue: str, inperson: InPersonDecision | None, rule: str
) -> None:
    t1 = _tier1(turn)
    urgency = rate_urgency(issue, inperson)
    turn.slots["tier2"] = {
        "issue": issue,
        "urgent": urgency.urgent,
        "urgency_rule": urgency.rule,
        "inperson_category": t1.get("inperson_category") if inperson else None,
        "inperson_justified": inperson.justified if inperson else None,
        "inperson_rule": inperson.rule_id if inperson else None,
        "page": 0,
    }
    turn.say("tier1.refer.officer" if t1.get("live") else "tier1.refer.after_hours")
    if urgency.urgent:
        turn.say("tier1.likely.urgent")
    else:
        turn.say("tier1.likely.regular", days=turn.settings.tier2.regular_business_days)
    await turn.fire("refer_officer", rule=rule)
