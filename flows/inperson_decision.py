"""Is an in-person field-office visit justified? Decided case by case from rules kept in
configuration (`config/inperson_policy.toml`); every decision names the rule that made it
and points to the explanation shown to the applicant and to staff.

Rules are tried in order and the first whose category matches decides. A rule may need
evidence of the need (documents the applicant can show) and may need an emergency. A
case-status question never justifies a visit: it can be answered by phone.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

INPERSON_CATEGORIES = (
    "proof_of_status",
    "emergency_advance_parole",
    "daca",
    "parole_in_place",
    "satisfactory_departure",
    "immigration_judge_grant",
    "case_status",
    "other",
)


class InPersonRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^inperson\.[a-z_]+$")
    category: str
    justified: bool
    needs_evidence: bool = False
    needs_emergency: bool = False
    explanation: str  # message key
    missing_explanation: str = "tier2.why.not_shown"  # message key when a need is missing


class InPersonPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[InPersonRule, ...]
    # Request types of the automated tier's 2023-style form, mapped to our categories.
    request_types: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_category_has_a_rule(self) -> InPersonPolicy:
        known = set(INPERSON_CATEGORIES)
        for rule in self.rules:
            if rule.category not in known:
                raise ValueError(f"rule {rule.id}: unknown category {rule.category!r}")
        missing = known - {r.category for r in self.rules}
        if missing:
            raise ValueError(f"no rule for categories: {', '.join(sorted(missing))}")
        for name, category in self.request_types.items():
            if category not in known:
                raise ValueError(f"request type {name!r}: unknown category {category!r}")
        case_status = next(r for r in self.rules if r.category == "case_status")
        if case_status.justified:
            raise ValueError("a case-status question must never justify a visit")
        return self

    def category_for_request_type(self, request_type: str) -> str:
        key = "".join(c if c.isalnum() else "_" for c in request_type.lower()).strip("_")
        return self.request_types.get(key, "other")


@dataclass(frozen=True)
class InPersonRequest:
    category: str
    emergency: bool
    has_evidence: bool


@dataclass(frozen=True)
class InPersonDecision:
    justified: bool
    rule_id: str
    explanation: str  # message key
    walk_in_guidance: bool  # an emergency: walk-ins are at the office's discretion


def decide_in_person(request: InPersonRequest, policy: InPersonPolicy) -> InPersonDecision:
    rule = next((r for r in policy.rules if r.category == request.category), None)
    if rule is None:
        raise ValueError(f"unknown in-person category {request.category!r}")
    walk_in = request.emergency and rule.category != "case_status"
    if not rule.justified:
        return InPersonDecision(False, rule.id, rule.explanation, walk_in)
    if rule.needs_evidence and not request.has_evidence:
        return InPersonDecision(False, f"{rule.id}.no_evidence", rule.missing_explanation, walk_in)
    if rule.needs_emergency and not request.emergency:
        return InPersonDecision(False, f"{rule.id}.no_emergency", rule.missing_explanation, walk_in)
    return InPersonDecision(True, rule.id, rule.explanation, walk_in)
