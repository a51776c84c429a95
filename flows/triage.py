"""Tier 1 triage: who is asking, what the issue is, how urgent it is, and where it goes.

Each decision is a pure function returning the outcome and the id of the rule that made
it, so the bot, staff and trainers can all see why a conversation went where it did. Who may
discuss a case is the law, so the roles are here; the issues an operator triages are the
deployer's choice and live in `config/tier1_knowledge.toml` (`flows.knowledge.Issue`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Literal

from msgspec import Struct

from flows.inperson_decision import InPersonDecision

ROLES = ("applicant", "petitioner", "representative_g28", "representative_no_g28", "other")

Outcome = Literal["knowledge_base", "service_request", "tier2"]


class RoleRule(StrEnum):
    APPLICANT = "role.applicant"
    PETITIONER = "role.petitioner"
    REPRESENTATIVE_G28 = "role.representative_g28"
    NO_G28 = "role.no_g28"
    THIRD_PARTY = "role.third_party"


# Why someone may not discuss the case, by the rule that said so (message keys).
ROLE_REFUSAL_TEXT: Mapping[RoleRule, str] = {
    RoleRule.NO_G28: "tier1.role.why.no_g28",
    RoleRule.THIRD_PARTY: "tier1.role.why.third_party",
}


class TriageRule(StrEnum):
    """Where an issue went. Rules that end in a dot-suffix name the issue, topic or
    category from configuration they were applied to (`qualified`)."""

    INPERSON = "triage.inperson"  # .<issue>: the in-person questions come next
    KNOWLEDGE_BASE = "triage.knowledge_base"  # .<topic>
    SERVICE_REQUEST = "triage.service_request"  # .<issue>
    AFTER_HOURS_CALLBACK = "triage.after_hours_callback"
    OFFICER = "triage.officer"  # .<issue>
    ASKED_AFTER_RESOLUTION = "triage.officer.asked_after_resolution"
    GENERAL_TOPIC = "triage.general_topic"  # .<topic>: general information given


class UrgencyRule(StrEnum):
    EMERGENCY = "urgency.emergency"
    JUSTIFIED_VISIT = "urgency"  # .<in-person rule id>
    URGENT_ISSUE = "urgency.issue"  # .<issue>: urgent by itself (`urgent` in configuration)
    REGULAR = "urgency.regular"


def qualified(rule: StrEnum, detail: str) -> str:
    """A rule id applied to something named in configuration: 'triage.officer.emergency'."""
    return f"{rule}.{detail}"


class RoleDecision(Struct, frozen=True):
    may_discuss_case: bool
    rule: RoleRule


def decide_role(role: str) -> RoleDecision:
    """Only the applicant, the petitioner, or an attorney or accredited representative with
    a Form G-28 on file may discuss a case; anyone else gets general information only."""
    if role == "applicant":
        return RoleDecision(True, RoleRule.APPLICANT)
    if role == "petitioner":
        return RoleDecision(True, RoleRule.PETITIONER)
    if role == "representative_g28":
        return RoleDecision(True, RoleRule.REPRESENTATIVE_G28)
    if role == "representative_no_g28":
        return RoleDecision(False, RoleRule.NO_G28)
    return RoleDecision(False, RoleRule.THIRD_PARTY)


class Urgency(Struct, frozen=True):
    urgent: bool
    rule: str


def rate_urgency(
    emergency: bool, inperson: InPersonDecision | None, urgent_issue: str | None = None
) -> Urgency:
    """An emergency, a visit judged justified, or an issue configured as urgent by itself
    (`urgent_issue`: a biometrics appointment that cannot be moved online) is urgent;
    anything else is regular."""
    if emergency:
        return Urgency(True, UrgencyRule.EMERGENCY)
    if inperson is not None and inperson.justified:
        return Urgency(True, qualified(UrgencyRule.JUSTIFIED_VISIT, inperson.rule_id))
    if urgent_issue:
        return Urgency(True, qualified(UrgencyRule.URGENT_ISSUE, urgent_issue))
    return Urgency(False, UrgencyRule.REGULAR)


class TriageDecision(Struct, frozen=True):
    outcome: Outcome
    rule: str
    topic: str | None = None  # the knowledge-base topic that resolves it


def route(
    issue: str,
    *,
    operators_live: bool,
    knowledge: Mapping[str, str],
    service_request_issues: Collection[str],
) -> TriageDecision:
    """Where an issue goes. `knowledge` maps an issue to the topic that resolves it.

    The knowledge base answers at any hour; a service request needs a live operator, so
    outside live hours it becomes an officer callback; everything else needs an officer.
    """
    topic = knowledge.get(issue)
    if topic is not None:
        return TriageDecision("knowledge_base", qualified(TriageRule.KNOWLEDGE_BASE, topic), topic)
    if issue in service_request_issues:
        if operators_live:
            return TriageDecision("service_request", qualified(TriageRule.SERVICE_REQUEST, issue))
        return TriageDecision("tier2", TriageRule.AFTER_HOURS_CALLBACK)
    return TriageDecision("tier2", qualified(TriageRule.OFFICER, issue))
