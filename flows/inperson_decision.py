"""Is an in-person field-office visit justified? Decided case by case from rules kept in
configuration (`config/inperson_policy.toml`); every decision names the rule that made it
and points to the explanation shown to the applicant and to staff.

Rules are tried in order and the first whose category matches decides; the categories
the operator offers are those of the rules, in their order, so a deployer adds one in
configuration alone. A rule may need evidence of the need (documents the applicant can
show) and may need an emergency. A case-status question never justifies a visit: it can be
answered by phone.
"""

from enum import StrEnum
from typing import Self

from msgspec import Struct
from pydantic import BaseModel, ConfigDict, Field, model_validator

CASE_STATUS = "case_status"  # never justifies a visit
OTHER = "other"  # where an unknown request type goes


class InPersonOutcome(StrEnum):
    """Suffixes of a rule id (`inperson.daca.no_evidence`) that say how the rule applied."""

    CAN_JUSTIFY = "can_justify"  # the category can justify a visit: ask for evidence
    NO_EVIDENCE = "no_evidence"
    NO_EMERGENCY = "no_emergency"


class InPersonRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str = Field(pattern=r"^inperson\.[a-z_]+$")
    category: str
    justified: bool
    needs_evidence: bool = False
    needs_emergency: bool = False
    # An emergency by its nature (emergency advance parole): an officer may book the visit
    # sooner than the usual lead, and "proof of the emergency" is on what to bring.
    emergency: bool = False
    explanation: str  # message key
    missing_explanation: str = "tier2.why.not_shown"  # message key when a need is missing


class InPersonPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    rules: tuple[InPersonRule, ...]
    # Request types of the automated tier's 2023-style form, mapped to our categories.
    request_types: dict[str, str] = {}

    @model_validator(mode="after")
    def _every_category_has_a_rule(self) -> Self:
        known = self.categories()
        if len(set(known)) != len(known):
            raise ValueError("each category has exactly one rule")
        for required in (CASE_STATUS, OTHER):
            if required not in known:
                raise ValueError(f"no rule for the category {required!r}")
        for name, category in self.request_types.items():
            if category not in known:
                raise ValueError(f"request type {name!r}: unknown category {category!r}")
        if self.rule_for(CASE_STATUS).justified:
            raise ValueError("a case-status question must never justify a visit")
        return self

    def categories(self) -> tuple[str, ...]:
        """The categories the operator offers, in the order of the rules."""
        return tuple(r.category for r in self.rules)

    def rule_for(self, category: str) -> InPersonRule:
        rule = next((r for r in self.rules if r.category == category), None)
        if rule is None:
            raise ValueError(f"unknown in-person category {category!r}")
        return rule

    def category_for_request_type(self, request_type: str) -> str:
        key = "".join(c if c.isalnum() else "_" for c in request_type.lower()).strip("_")
        return self.request_types.get(key, OTHER)


class InPersonRequest(Struct, frozen=True):
    category: str
    emergency: bool
    has_evidence: bool


class InPersonDecision(Struct, frozen=True):
    justified: bool
    rule_id: str
    explanation: str  # message key
    walk_in_guidance: bool  # an emergency: walk-ins are at the office's discretion


def decide_in_person(request: InPersonRequest, policy: InPersonPolicy) -> InPersonDecision:
    rule = policy.rule_for(request.category)
    walk_in = request.emergency and rule.category != CASE_STATUS
    if not rule.justified:
        return InPersonDecision(False, rule.id, rule.explanation, walk_in)
    if rule.needs_evidence and not request.has_evidence:
        missing = f"{rule.id}.{InPersonOutcome.NO_EVIDENCE}"
        return InPersonDecision(False, missing, rule.missing_explanation, walk_in)
    if rule.needs_emergency and not request.emergency:
        missing = f"{rule.id}.{InPersonOutcome.NO_EMERGENCY}"
        return InPersonDecision(False, missing, rule.missing_explanation, walk_in)
    return InPersonDecision(True, rule.id, rule.explanation, walk_in)
