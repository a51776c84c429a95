"""The Tier 2 flow: booking, moving and cancelling an officer callback.

A referral from Tier 1 arrives in `tier2.slots`; the applicant picks a time, gives a phone
number (and a ZIP code when no case on file names one), confirms, and gets a reference.
From the main menu, `callback` shows the booked callback, to move or cancel it.
"""

from __future__ import annotations

from flows.entry import MENU
from flows.machine import Flow, StateSpec, TransitionSpec

SLOTS = "tier2.slots"
PHONE = "tier2.phone"
ZIP = "tier2.zip"
CONFIRM = "tier2.confirm"
BOOKED = "tier2.booked"
MINE = "tier2.mine"

FLOW = Flow(
    name="tier2",
    states=(
        StateSpec(SLOTS, "The applicant picks a callback time."),
        StateSpec(PHONE, "The applicant gives the phone number the officer will call."),
        StateSpec(ZIP, "The applicant gives a ZIP code to find their field office."),
        StateSpec(CONFIRM, "The applicant confirms the time and number."),
        StateSpec(BOOKED, "The callback is booked; the applicant has a reference."),
        StateSpec(MINE, "The applicant looks at their booked callback."),
    ),
    transitions=(
        TransitionSpec("callback", MENU, MINE, "The applicant asked about their callback."),
        TransitionSpec("move_callback", MINE, SLOTS, "The applicant wants another time."),
        TransitionSpec("pick_slot", SLOTS, PHONE, "A time was picked; a phone number is next."),
        TransitionSpec("ask_zip", PHONE, ZIP, "No field office is known yet for this person."),
        TransitionSpec(
            "ask_confirm",
            (SLOTS, PHONE, ZIP),
            CONFIRM,
            "Everything needed for the callback is known.",
        ),
        TransitionSpec(
            "pick_other_slot",
            CONFIRM,
            SLOTS,
            "The time is no longer free, or the applicant wants another one.",
        ),
        TransitionSpec("book", CONFIRM, BOOKED, "The callback was booked within capacity."),
    ),
)


# Placeholder until the tier's steps are declared: its states, no routes yet.
from flows.steps import Step as _Step, Tier as _Tier  # noqa: E402

TIER = _Tier(
    name="tier2",
    steps=tuple(_Step(s.name, s.doc) for s in FLOW.states if s.name not in ("automated.menu",)),
    intercept_prefix="tier2.",
)
