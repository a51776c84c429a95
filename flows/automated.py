"""The automated flow: states and transitions this tier adds to the shared machine.

From the menu (`flows.entry.MENU`) the applicant can check a case status, reschedule a
biometrics appointment, request an in-person appointment, or read self-service answers.
A receipt number typed in most automated states is looked up at once (`lookup`); the
states that expect a receipt or free text take it themselves. Going up to Tier 1 uses the
shared `escalate` trigger, with the rule id recorded by the handler.
"""

from __future__ import annotations

from flows.entry import MENU
from flows.machine import Flow, StateSpec, TransitionSpec

STATUS_ASK = "automated.status.ask_receipt"
STATUS_ANSWERED = "automated.status.answered"
BIO_ASK = "automated.biometrics.ask_receipt"
BIO_REASON = "automated.biometrics.ask_reason"
BIO_SLOT = "automated.biometrics.choose_slot"
BIO_SITE = "automated.biometrics.choose_site"
BIO_BOOKED = "automated.biometrics.booked"
APR_TYPE = "automated.appointment.choose_type"
APR_IDENTIFIER = "automated.appointment.ask_identifier"
APR_REASON = "automated.appointment.ask_reason"
APR_CHECKLIST = "automated.appointment.checklist"
APR_DATE = "automated.appointment.ask_date"
APR_SUBMITTED = "automated.appointment.submitted"
INFO = "automated.info"

# States where a receipt typed out of the blue is looked up: all but those that read a
# receipt (or free text) as their own answer.
LOOKUP_FROM: tuple[str, ...] = (
    MENU,
    STATUS_ASK,
    STATUS_ANSWERED,
    BIO_REASON,
    BIO_SLOT,
    BIO_SITE,
    BIO_BOOKED,
    APR_TYPE,
    APR_CHECKLIST,
    APR_DATE,
    APR_SUBMITTED,
    INFO,
)

FLOW = Flow(
    name="automated",
    states=(
        StateSpec(STATUS_ASK, "Waiting for a receipt number to look up."),
        StateSpec(STATUS_ANSWERED, "A case status was shown with its meaning and next step."),
        StateSpec(BIO_ASK, "Biometrics rescheduling: waiting for the receipt number."),
        StateSpec(BIO_REASON, "Biometrics rescheduling allowed: asking for the good cause."),
        StateSpec(BIO_SLOT, "Biometrics rescheduling: choosing a free slot."),
        StateSpec(BIO_SITE, "Biometrics rescheduling: choosing another support center."),
        StateSpec(BIO_BOOKED, "The biometrics appointment was moved; confirmation shown."),
        StateSpec(APR_TYPE, "In-person appointment request: choosing the request type."),
        StateSpec(APR_IDENTIFIER, "In-person appointment request: receipt or A-number."),
        StateSpec(APR_REASON, "In-person appointment request: the reason, in own words."),
        StateSpec(APR_CHECKLIST, "In-person appointment request: confirming the documents."),
        StateSpec(APR_DATE, "In-person appointment request: optional preferred date."),
        StateSpec(APR_SUBMITTED, "The request is stored, pending review; reference given."),
        StateSpec(INFO, "Self-service answers: hours, phone numbers, what to bring."),
    ),
    transitions=(
        TransitionSpec(
            "status",
            (MENU, STATUS_ANSWERED),
            STATUS_ASK,
            "The applicant wants to check a case status.",
        ),
        TransitionSpec(
            "lookup",
            LOOKUP_FROM,
            STATUS_ANSWERED,
            "A receipt number was found and its status shown.",
        ),
        TransitionSpec(
            "biometrics",
            MENU,
            BIO_ASK,
            "The applicant wants to reschedule a biometrics appointment.",
        ),
        TransitionSpec(
            "bio_allowed",
            BIO_ASK,
            BIO_REASON,
            "biometrics.eligible: the 2023 rules allow rescheduling online.",
        ),
        TransitionSpec(
            "bio_cause", BIO_REASON, BIO_SLOT, "A good cause for rescheduling was given."
        ),
        TransitionSpec(
            "bio_other_site",
            BIO_SLOT,
            BIO_SITE,
            "The applicant wants another Application Support Center.",
        ),
        TransitionSpec("bio_site", BIO_SITE, BIO_SLOT, "A support center was chosen."),
        TransitionSpec(
            "bio_booked", BIO_SLOT, BIO_BOOKED, "A free slot was booked within its capacity."
        ),
        TransitionSpec(
            "appointment",
            MENU,
            APR_TYPE,
            "The applicant wants to request an in-person appointment.",
        ),
        TransitionSpec("apr_type", APR_TYPE, APR_IDENTIFIER, "A request type was chosen."),
        TransitionSpec(
            "apr_identified", APR_IDENTIFIER, APR_REASON, "A receipt number or A-number was given."
        ),
        TransitionSpec("apr_reason", APR_REASON, APR_CHECKLIST, "The reason was given."),
        TransitionSpec(
            "apr_documents",
            APR_CHECKLIST,
            APR_DATE,
            "The applicant confirmed the document checklist.",
        ),
        TransitionSpec(
            "apr_submitted", APR_DATE, APR_SUBMITTED, "The request was stored, pending review."
        ),
        TransitionSpec("info", MENU, INFO, "The applicant asked for self-service answers."),
    ),
)


# Placeholder until the tier's steps are declared: its states, no routes yet.
from flows.steps import Step as _Step, Tier as _Tier  # noqa: E402

TIER = _Tier(
    name="automated",
    steps=tuple(_Step(s.name, s.doc) for s in FLOW.states if s.name not in ("automated.menu",)),
    intercept_prefix="automated.",
)
