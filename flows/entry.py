"""The way in: the main menu, help, cancel, the end of a conversation, and the hand-over
to Tier 1 that every tier below it shares.

`tier1.intake` is the contract between the tiers: whatever the automated tier cannot
settle, or a person who asks for one, is sent there with the reason recorded. The Tier 1
flow (`flows.tier1`) takes the conversation on from that state.
"""

from __future__ import annotations

from flows.machine import ANY, Flow, StateSpec, TransitionSpec

INITIAL = "automated.menu"
MENU = "automated.menu"
TIER1_INTAKE = "tier1.intake"
CLOSED = "closed"

FLOW = Flow(
    name="entry",
    states=(
        StateSpec(MENU, "Main menu of the automated tier, available at all hours."),
        StateSpec(TIER1_INTAKE, "Handed to a Tier 1 operator; triage starts here."),
        StateSpec(CLOSED, "The conversation is over; any message starts a new one."),
    ),
    transitions=(
        TransitionSpec("start", ANY, MENU, "The applicant sent /start."),
        TransitionSpec("menu", ANY, MENU, "The applicant asked for the main menu."),
        TransitionSpec("cancel", ANY, MENU, "The applicant cancelled what they were doing."),
        TransitionSpec("finish", ANY, CLOSED, "The conversation came to an end."),
        TransitionSpec(
            "escalate",
            ANY,
            TIER1_INTAKE,
            "The automated tier could not settle the request, or a person was asked for.",
        ),
    ),
)
