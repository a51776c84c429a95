"""The Tier 1 flow: triage by a live operator.

Every escalation lands in `tier1.intake` (declared in `flows.entry`), which asks who is
asking. Someone who may not discuss the case gets general information only; the others
name the issue, answer the in-person questions when the issue needs a visit, and are then
resolved at Tier 1 (knowledge base or a service request) or referred to a Tier 2 officer.
"""

from __future__ import annotations

from flows.entry import TIER1_INTAKE
from flows.machine import Flow, StateSpec, TransitionSpec

GENERAL = "tier1.general"
ISSUE = "tier1.issue"
INPERSON = "tier1.inperson"
EVIDENCE = "tier1.evidence"
RESOLVED = "tier1.resolved"
TIER2_SLOTS = "tier2.slots"  # declared in flows.tier2; the referral lands there

FLOW = Flow(
    name="tier1",
    states=(
        StateSpec(GENERAL, "General information only: the person may not discuss the case."),
        StateSpec(ISSUE, "The operator asks what the issue is."),
        StateSpec(INPERSON, "The operator asks what the in-person visit would be for."),
        StateSpec(EVIDENCE, "The operator asks whether documents show the need."),
        StateSpec(RESOLVED, "Tier 1 settled the issue (knowledge base or service request)."),
    ),
    transitions=(
        TransitionSpec(
            "general_only",
            TIER1_INTAKE,
            GENERAL,
            "Only the applicant, petitioner or a G-28 representative may discuss a case.",
        ),
        TransitionSpec(
            "ask_issue", TIER1_INTAKE, ISSUE, "The person may discuss the case; triage continues."
        ),
        TransitionSpec("ask_inperson", ISSUE, INPERSON, "The issue may need an in-person visit."),
        TransitionSpec(
            "ask_evidence",
            INPERSON,
            EVIDENCE,
            "The visit category can justify a visit if the need is shown.",
        ),
        TransitionSpec(
            "resolve",
            (ISSUE, INPERSON),
            RESOLVED,
            "Tier 1 can settle the issue without an officer.",
        ),
        TransitionSpec(
            "refer_officer",
            (ISSUE, EVIDENCE, RESOLVED),
            TIER2_SLOTS,
            "The issue needs a Tier 2 officer: a callback is booked.",
        ),
    ),
)


# Placeholder until the tier's steps are declared: its states, no routes yet.
from flows.steps import Step as _Step, Tier as _Tier  # noqa: E402

TIER = _Tier(
    name="tier1",
    steps=(
        _Step(TIER1_INTAKE, "Handed to a Tier 1 operator; triage starts here."),
        *(_Step(s.name, s.doc) for s in FLOW.states),
    ),
    intercept_prefix="tier1.",
)
