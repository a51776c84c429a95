"""Tier 1 triage: who is asking, what the issue is, how urgent it is, and where it goes.

Each decision is a pure function returning the outcome and the id of the rule that made
it, so the bot, staff and trainers can all see why a conversation went where it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flows.inperson_decision import InPersonDecision

ROLES = ("applicant", "petitioner", "representative_g28", "representative_no_g28", "other")
ISSUES = (
    "outside_processing_time",
    "notice_not_received",
    "change_of_address",
    "biometrics_not_online",
    "inperson_need",
    "emergency",
    "something_else",
)
# Issues that need the in-person questions before they can be routed.
INPERSON_ISSUES = ("inperson_need", "emergency")

Outcome = Literal["knowledge_base", "service_request", "tier2"]


@dataclass(frozen=True)
class RoleDecision:
    may_discuss_case: bool
    rule: str  # also the message key suffix of the explanation


def decide_role(role: str) -> RoleDecision:
    """Only the applicant, the petitioner, or an attorney or accredited representative with
    a Form G-28 on file may discuss a case; anyone else gets general information only."""
    if role in ("applicant", "petitioner", "representative_g28"):
        return RoleDecision(True, f"role.{role}")
    if role == "representative_no_g28":
        return RoleDecision(False, "role.no_g28")
    return RoleDecision(False, "role.third_party")


@dataclass(frozen=True)
class Urgency:
    urgent: bool
    rule: str


def rate_urgency(issue: str, inperson: InPersonDecision | None) -> Urgency:
    if issue == "emergency":
        return Urgency(True, "urgency.emergency")
    if inperson is not None and inperson.justified:
        return Urgency(True, f"urgency.{inperson.rule_id}")
    return Urgency(False, "urgency.regular")


@dataclass(frozen=True)
class TriageDecision:
    outcome: Outcome
    rule: str
    topic: str | None = None  # the knowledge-base topic that resolves it


def route(
    issue: str,
    *,
    operators_live: bool,
    knowledge: dict[str, str],
    service_request_issues: tuple[str, ...],
) -> TriageDecision:
    """Where an issue goes. `knowledge` maps an issue to the topic that resolves it.

    The knowledge base answers at any hour; a service request needs a live operator, so
    outside live hours it becomes an officer callback; everything else needs an officer.
    """
    if issue not in ISSUES:
        raise ValueError(f"unknown issue {issue!r}")
    topic = knowledge.get(issue)
    if topic is not None:
        return TriageDecision("knowledge_base", f"triage.knowledge_base.{topic}", topic)
    if issue in service_request_issues:
        if operators_live:
            return TriageDecision("service_request", f"triage.service_request.{issue}")
        return TriageDecision("tier2", "triage.after_hours_callback")
    return TriageDecision("tier2", f"triage.officer.{issue}")
