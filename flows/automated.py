"""The automated tier, declared in one place: available at all hours, from the main menu.

The applicant can check a case status, reschedule a biometrics appointment, request an
in-person appointment, or read self-service answers (their steps are in
`flows.automated_status`, `flows.automated_biometrics` and `flows.automated_appointment`).
Typed anywhere in the tier, a receipt number is looked up at once (`lookup`) and a wish for
a person is handed to Tier 1 (`escalate`, with the rule recorded); the steps that read a
receipt or free text as their own answer take it first.
"""

from __future__ import annotations

from flows import automated_appointment, automated_biometrics, automated_status, watch_list
from flows.automated_common import (
    APR_CHECKLIST,
    APR_DATE,
    APR_IDENTIFIER,
    APR_PHONE,
    APR_REASON,
    APR_SUBMITTED,
    APR_TYPE,
    APR_ZIP,
    BIO_ASK,
    BIO_BOOKED,
    BIO_REASON,
    BIO_SITE,
    BIO_SLOT,
    BIO_TIME,
    DIDNT_HELP,
    DIDNT_HELP_ROUTE,
    INFO,
    LOOKUP_FROM,
    STATUS_ANSWERED,
    STATUS_ASK,
    WAY_OUT,
    AutomatedRule,
    escalate,
)
from flows.entry import MENU, TIER1_INTAKE, MenuItem
from flows.facts import Facts
from flows.steps import MENU as MENU_BUTTON
from flows.steps import Choice, Decision, Say, Step, Tier, decide, labelled, route, say, shown, stay

__all__ = [
    "APR_CHECKLIST",
    "APR_DATE",
    "APR_IDENTIFIER",
    "APR_PHONE",
    "APR_REASON",
    "APR_SUBMITTED",
    "APR_TYPE",
    "APR_ZIP",
    "BIO_ASK",
    "BIO_BOOKED",
    "BIO_REASON",
    "BIO_SITE",
    "BIO_SLOT",
    "BIO_TIME",
    "INFO",
    "LOOKUP_FROM",
    "STATUS_ANSWERED",
    "STATUS_ASK",
    "TIER",
    "AutomatedRule",
]

TOPIC = "info"  # the kind of a self-service topic's button: info:<topic id>


def _topics(f: Facts) -> list[Choice]:
    return [labelled(TOPIC, t.label, t.id) for t in f.policy.self_service.topics]


def _topic_answered(f: Facts) -> Decision | None:
    service = f.policy.self_service
    topic = service.topic(f.answer.arg) if f.answer.pressed(TOPIC) else None
    if topic is None:
        return None
    return decide(
        AutomatedRule.INFO_ANSWERED,
        say("info.answer", *_topics(f), *WAY_OUT, answer=service.answer(topic)),
    )


INFO_STEP = Step(
    INFO,
    "Self-service answers: hours, phone numbers, what to bring.",
    show=lambda f: shown(say("info.prompt", *_topics(f), MENU_BUTTON)),
    routes=(DIDNT_HELP_ROUTE, stay(_topic_answered, "A self-service topic was answered.")),
    kinds=(DIDNT_HELP, TOPIC),
)


def _wants_person(f: Facts) -> Decision | None:
    if f.answer.kind != "text" or not f.policy.self_service.wants_person(f.answer.text):
        return None
    return escalate(f, AutomatedRule.ASKED_FOR_PERSON, Say("auto.passing_to_person"))


STEPS = (
    *automated_status.STEPS,
    *automated_biometrics.STEPS,
    *automated_appointment.STEPS,
    INFO_STEP,
)

TIER = Tier(
    name="automated",
    steps=STEPS,
    commands=(automated_status.STATUS_COMMAND, *watch_list.COMMANDS),
    intercepts=(
        route(
            "escalate",
            TIER1_INTAKE,
            _wants_person,
            "The applicant asked for a person, or said it didn't help.",
            sources=(MENU, *(s.state for s in STEPS)),
        ),
        *automated_status.receipt_routes(anywhere=True),
    ),
    intercept_prefix="automated.",
    menu=(
        MenuItem(
            "status", STATUS_ASK, "menu.item_status", "The applicant wants to check a case status."
        ),
        MenuItem(
            "biometrics",
            BIO_ASK,
            "menu.item_biometrics",
            "The applicant wants to reschedule a biometrics appointment.",
        ),
        MenuItem(
            "appointment",
            APR_TYPE,
            "menu.item_appointment",
            "The applicant wants to request an in-person appointment.",
        ),
        MenuItem("info", INFO, "menu.item_info", "The applicant asked for self-service answers."),
    ),
)
