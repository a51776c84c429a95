"""What the steps of the automated tier share: its state names, the way up to Tier 1 (the
"That didn't help" button and the escalation decision), the buttons at the end of every
answer, and the refusal of a receipt number that cannot be read.

The automated tier is declared in `flows.automated` from the steps in
`flows.automated_status`, `flows.automated_biometrics` and `flows.automated_appointment`.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from flows.entry import MENU, TIER1_INTAKE
from flows.facts import Facts
from flows.receipts import ReceiptCheck, ReceiptRule, valid_prefixes
from flows.steps import MENU as MENU_BUTTON
from flows.steps import Answer, Choice, Decision, Route, Say, choice, decide, refuse, route

STATUS_ASK = "automated.status.ask_receipt"
STATUS_ANSWERED = "automated.status.answered"
BIO_ASK = "automated.biometrics.ask_receipt"
BIO_REASON = "automated.biometrics.ask_reason"
BIO_SLOT = "automated.biometrics.choose_slot"  # a day with free times
BIO_TIME = "automated.biometrics.choose_time"  # a time on that day
BIO_SITE = "automated.biometrics.choose_site"
BIO_BOOKED = "automated.biometrics.booked"
APR_TYPE = "automated.appointment.choose_type"
APR_IDENTIFIER = "automated.appointment.ask_identifier"
APR_REASON = "automated.appointment.ask_reason"
APR_CHECKLIST = "automated.appointment.checklist"
APR_PHONE = "automated.appointment.ask_phone"
APR_ZIP = "automated.appointment.ask_zip"
APR_DATE = "automated.appointment.ask_date"
APR_SUBMITTED = "automated.appointment.submitted"
INFO = "automated.info"

# States where a receipt typed out of the blue is looked up and shown as the answer
# (`lookup`): the menu, the status steps, self-service and the end of a flow. In the middle
# of a flow (a biometrics reschedule or an in-person request under way) the status is
# answered in place and the step's question asked again, so nothing typed so far is lost;
# the steps that read a receipt (or free text) as their own answer take it first.
LOOKUP_FROM: tuple[str, ...] = (
    MENU,
    STATUS_ASK,
    STATUS_ANSWERED,
    BIO_BOOKED,
    APR_SUBMITTED,
    INFO,
)

DIDNT_HELP = "auto:didnt_help"  # the kind of the "That didn't help" button


class AutomatedRule(StrEnum):
    """Rules of the tier as a whole (status, biometrics and requests have their own)."""

    ASKED_FOR_PERSON = "automated.asked_for_person"
    DIDNT_HELP = "automated.didnt_help"
    INFO_ANSWERED = "automated.info_answered"


# The buttons at the end of every answer: it didn't help, and the main menu.
WAY_OUT: tuple[Choice, ...] = (choice(DIDNT_HELP, "auto.buttons.didnt_help"), MENU_BUTTON)

# The text that says why a receipt number cannot be read, by the rule it broke.
RECEIPT_REFUSALS: dict[ReceiptRule, str] = {
    ReceiptRule.WRONG_LENGTH: "receipt.refused.wrong_length",
    ReceiptRule.NOT_LETTERS: "receipt.refused.not_letters",
    ReceiptRule.UNKNOWN_PREFIX: "receipt.refused.unknown_prefix",
    ReceiptRule.LETTERS_IN_DIGITS: "receipt.refused.letters_in_digits",
}


def escalate(f: Facts, rule: str, *says: Say) -> Decision:
    """Hand the conversation to Tier 1 with the reason recorded (the tiers' contract)."""
    return decide(rule, *says, state=f.state.but(escalation_reason=str(rule)))


def _didnt_help(f: Facts) -> Decision | None:
    if not f.answer.pressed(DIDNT_HELP):
        return None
    return escalate(f, AutomatedRule.DIDNT_HELP, Say("auto.didnt_help"))


# Every automated step takes the "That didn't help" button its answers offer.
DIDNT_HELP_ROUTE: Route = route(
    "escalate", TIER1_INTAKE, _didnt_help, "The applicant said the answer didn't help."
)


def refuse_receipt(check: ReceiptCheck) -> Decision:
    """The specific reason a receipt number cannot be read; nothing changes."""
    return refuse(
        check.rule,
        RECEIPT_REFUSALS[check.rule],
        length=check.length,
        prefix=check.normalised[:3],
        prefixes=", ".join(valid_prefixes()),
        characters=", ".join(check.bad_characters),
    )


def typed_unless_person(text: str, f: Facts) -> Answer | None:
    """A step's reading of typed text as its own answer, except a wish for a person, which
    is left to the tier's intercepts (they hand over to Tier 1)."""
    if f.policy.self_service.wants_person(text):
        return None
    return Answer("text", text=text)


def bullets(items: Iterable[str]) -> str:
    """Items from configuration, one per line (what to bring, a document checklist)."""
    return "\n".join(f"• {item}" for item in items)
