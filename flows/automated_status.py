"""Case status by receipt number: asked for from the menu, typed anywhere in the automated
tier, or given with /status. The answer: title, date, form, where the case was received,
the plain meaning and the next step, with the status group's rule recorded (`status.*`,
from `config/case_statuses.toml`).

Where the machine allows `lookup`, a found case moves the conversation to the answered
step; elsewhere (a step that reads text as its own answer, or /status in the staff tiers)
the status is answered in place and the conversation stays where it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from msgspec import Struct

from flows.automated_common import (
    DIDNT_HELP,
    DIDNT_HELP_ROUTE,
    LOOKUP_FROM,
    STATUS_ANSWERED,
    STATUS_ASK,
    WAY_OUT,
    refuse_receipt,
    typed_unless_person,
)
from flows.case_live import MALFORMED, NOT_ONLINE, recent_history
from flows.case_records import CaseRecord
from flows.case_status import StatusExplanation
from flows.facts import Facts
from flows.receipts import ReceiptCheck, ReceiptNumber, check_receipt
from flows.state import ConversationState
from flows.steps import AGENT as AGENT_BUTTON
from flows.steps import MENU as MENU_BUTTON
from flows.steps import (
    Answer,
    Choice,
    Command,
    Decision,
    Guard,
    Route,
    Say,
    Step,
    Supplied,
    choice,
    decide,
    kept,
    refuse,
    route,
    say,
    shown,
    stay,
)
from flows.understanding import receipt_in

AGAIN = "status:again"
HISTORY = "status:history"  # the full dated history of the case shown (state.receipt)
CASE = "case"  # the facts loaded for a receipt: `Loaded.case`


class StatusRule(StrEnum):
    """How a status question went; a shown status records its group's rule instead."""

    ASKED = "status.asked"
    CHECK_ANOTHER = "status.check_another"
    NOT_FOUND = "status.case_not_found"
    SOURCE_UNAVAILABLE = "status.source_unavailable"
    USAGE = "status.command_usage"
    NOT_ONLINE = "status.not_shown_online"  # USCIS 404: mistyped, or not shown online
    MALFORMED = "status.refused_by_uscis"  # USCIS 422: the receipt is badly formed
    HISTORY = "status.history"


def receipt_wanted(answer: Answer, state: ConversationState) -> str | None:
    """The receipt whose case a turn needs (what the `case` loader looks up): the one typed
    or given with a command, else the one the conversation is about."""
    if answer.kind == "text" or answer.kind.startswith("/"):
        typed = receipt_in(answer.text) if answer.text else None
        check = check_receipt(typed) if typed else None
        return check.receipt.value if check is not None and check.receipt else None
    return state.receipt


def _typed_receipt(f: Facts, anywhere: bool) -> ReceiptCheck | None:
    """The receipt in the typed text (or a command's words), also inside a sentence or
    quotes; None when there is none to read. `anywhere`: only text that holds a receipt
    counts (typed in another step); else the whole text is read as one."""
    answer = f.answer
    if not answer.text or not (answer.kind == "text" or answer.kind.startswith("/")):
        return None
    typed = receipt_in(answer.text)
    if anywhere and typed is None:
        return None
    return check_receipt(typed or answer.text)


def _origin(receipt: ReceiptNumber) -> Say:
    """What the receipt's letters and digits say about where and when it was received."""
    office = Say(f"origin.office.{receipt.office}")
    decoded = receipt.decode()
    if decoded is None:
        return say("origin.online", office=office)
    if decoded.working_day is None:
        return say("origin.year", office=office, year=decoded.fiscal_year)
    return say("origin.day", office=office, year=decoded.fiscal_year, day=decoded.working_day)


class _Appointment(Struct, frozen=True):
    """What the status answer says of a case's biometrics appointment, besides its date:
    whether it has passed, and the site's name and address (none when unknown)."""

    when: str  # "passed" or "upcoming"
    site: str | None
    address: str | None


def _appointment(f: Facts, record: CaseRecord) -> _Appointment | None:
    at = record.biometrics_at
    if at is None:
        return None
    site = f.policy.biometrics.site(record.biometrics_site)
    when = "passed" if at <= f.now else "upcoming"
    return _Appointment(when, site.name, site.address) if site else _Appointment(when, None, None)


def _next_step(record: CaseRecord, next_step: str, appointment: _Appointment | None) -> str | Say:
    """The next step, led by the biometrics appointment the case on file has (when the
    status shows one): when and where it is, or that its date has passed."""
    at = record.biometrics_at
    if at is None or appointment is None:
        return next_step
    when = appointment.when
    if appointment.site is None:
        return say(f"status.biometrics.{when}_no_site", when=at, next_step=next_step)
    return say(
        f"status.biometrics.{when}",
        when=at,
        site=appointment.site,
        address=appointment.address,
        next_step=next_step,
    )


def _where_from(record: CaseRecord) -> Say | None:
    """Where the answer came from and when it was checked. With the local source an
    imported case has no `checked_at` and says nothing new; given by the chain of live
    sources instead of USCIS (which could not answer), it says so."""
    if record.checked_at is None:
        return None
    return say(f"case.source.{record.source}", checked=record.checked_at)


def _what_changed(record: CaseRecord) -> tuple[Say, ...]:
    """The short "what changed": the latest dated steps of the history."""
    recent = recent_history(record)
    if not recent:
        return ()
    return (
        say("case.changes.head"),
        *(say("case.history.entry", on=h.on, text=Supplied(h.text_en, h.text_es)) for h in recent),
    )


def status_answer(f: Facts, receipt: ReceiptNumber, record: CaseRecord, moving: bool) -> Decision:
    explanation = f.policy.statuses.explain(record.status_title)
    appointment = None
    if explanation.shows_biometrics_appointment:
        appointment = _appointment(f, record)  # passed or upcoming: by the clock
    # Equal date-times in other zones are written with other hours: the zones are part of
    # what the kept answer is kept for.
    zones = (_offset(record.checked_at), _offset(record.biometrics_at))
    says = _kept_answer(receipt, record, moving, explanation, appointment, zones)
    return decide(explanation.rule, *says, state=f.state.but(receipt=record.receipt_number))


def _offset(at: datetime | None) -> timedelta | None:
    return at.utcoffset() if at is not None else None


@lru_cache(maxsize=1024)
def _kept_answer(
    receipt: ReceiptNumber,
    record: CaseRecord,
    moving: bool,
    explanation: StatusExplanation,
    appointment: _Appointment | None,
    zones: tuple[timedelta | None, ...],
) -> tuple[Say, ...]:
    """The answer for a case record, kept: the same cases are asked about again and again,
    and it depends on nothing else than these arguments. Its sentences are `Kept`, so
    each is written once per catalogue too (`bot.text.text`)."""
    next_step = _next_step(record, explanation.next_step, appointment)
    buttons: tuple[Choice, ...] = (
        (choice(AGAIN, "status.buttons.again"), *WAY_OUT) if moving else (MENU_BUTTON,)
    )
    if moving and record.history:
        buttons = (choice(HISTORY, "case.buttons.history"), *buttons)
    extra: list[Say] = []
    if record.status_description:
        extra.append(
            say(
                "case.description",
                text=Supplied(record.status_description, record.status_description_es),
            )
        )
    extra.extend(_what_changed(record))
    source = _where_from(record)
    if source is not None:
        extra.append(source)
    said = (
        say(
            "status.answer",
            *buttons,
            receipt=record.receipt_number,
            title=Supplied(record.status_title, record.status_title_es),
            date=record.status_date,
            form=record.form_type,
            group=explanation.group_name,
            meaning=explanation.meaning,
            next_step=next_step,
            origin=_origin(receipt),
        ),
        *extra,
    )
    return tuple(kept(s) for s in said)


def _found(anywhere: bool) -> Guard:
    def when(f: Facts) -> Decision | None:
        check = _typed_receipt(f, anywhere)
        if check is None or check.receipt is None or f.loaded.case is None:
            return None
        return status_answer(f, check.receipt, f.loaded.case, moving=True)

    return when


def _answered_in_place(anywhere: bool) -> Guard:
    def when(f: Facts) -> Decision | None:
        check = _typed_receipt(f, anywhere)
        if check is None:
            return None
        if check.receipt is None:
            return refuse_receipt(check)
        if f.loaded.case_unavailable:
            return decide(StatusRule.SOURCE_UNAVAILABLE, say("status.unavailable", *WAY_OUT))
        if f.loaded.case is None and f.loaded.case_outcome == NOT_ONLINE:
            return decide(
                StatusRule.NOT_ONLINE,
                say("case.not_online", AGENT_BUTTON, *WAY_OUT, receipt=check.receipt.value),
            )
        if f.loaded.case is None and f.loaded.case_outcome == MALFORMED:
            return decide(
                StatusRule.MALFORMED,
                say("case.malformed", *WAY_OUT, receipt=check.receipt.value),
            )
        if f.loaded.case is None:
            return decide(
                StatusRule.NOT_FOUND,
                say("status.not_found", *WAY_OUT, receipt=check.receipt.value),
            )
        # Found, but the machine does not allow `lookup` from here: answer in place.
        return status_answer(f, check.receipt, f.loaded.case, moving=False)

    return when


def receipt_routes(*, anywhere: bool) -> tuple[Route, ...]:
    """Look the receipt up: shown in the answered step where `lookup` is allowed, else
    answered in place; a malformed, unknown or unreachable case is said and changes
    nothing."""
    return (
        route(
            "lookup",
            STATUS_ANSWERED,
            _found(anywhere),
            "A receipt number was found and its status shown.",
            needs=(CASE,),
            sources=LOOKUP_FROM,
        ),
        stay(
            _answered_in_place(anywhere),
            "A receipt that cannot be read or found is said why; one found where the"
            " conversation cannot move is answered in place.",
            needs=(CASE,),
        ),
    )


def receipt_in_place() -> Route:
    """A receipt typed where the conversation does not move to the status (the staff
    tiers, which say "type your receipt number here at any time"): answered in place, and
    the step's question asked again."""
    return stay(
        _answered_in_place(anywhere=True),
        "A receipt typed in the middle of triage or booking is answered in place.",
        needs=(CASE,),
    )


def _asked(f: Facts) -> Decision | None:
    return None if f.answer.text else decide(StatusRule.ASKED)


def _usage(f: Facts) -> Decision | None:
    return None if f.answer.text else refuse(StatusRule.USAGE, "status.usage")


_AFTER_HISTORY = (choice(AGAIN, "status.buttons.again"), *WAY_OUT)


def _full_history(f: Facts) -> Decision | None:
    """The case's whole dated history, newest first (the button under a status)."""
    if not f.answer.pressed(HISTORY):
        return None
    record = f.loaded.case
    if record is None or not record.history:
        return decide(StatusRule.HISTORY, say("case.history.none"), choices=_AFTER_HISTORY)
    return decide(
        StatusRule.HISTORY,
        say("case.history.head", receipt=record.receipt_number),
        *(
            say("case.history.entry", on=h.on, text=Supplied(h.text_en, h.text_es))
            for h in reversed(record.history)
        ),
        choices=_AFTER_HISTORY,
    )


def _check_another(f: Facts) -> Decision | None:
    return decide(StatusRule.CHECK_ANOTHER) if f.answer.pressed(AGAIN) else None


# Asked again after something answered in place (the status itself was the route's answer).
_WHAT_NEXT = shown(say("reask.next", choice(AGAIN, "status.buttons.again"), *WAY_OUT))

STATUS_COMMAND = Command(
    "status",
    (
        *receipt_routes(anywhere=False),
        # From the menu the menu's own `status` edge is the one taken (declared once there).
        route(
            "status",
            STATUS_ASK,
            _asked,
            "The applicant typed /status without a receipt.",
            sources=(STATUS_ANSWERED,),
        ),
        stay(_usage, "/status where no case can be asked for: how to use it."),
    ),
    "Check a case: /status RECEIPT, or /status to be asked for it.",
)

STEPS = (
    Step(
        STATUS_ASK,
        "Waiting for a receipt number to look up.",
        show=shown(say("status.ask_receipt", MENU_BUTTON)),
        parse=typed_unless_person,
        routes=(DIDNT_HELP_ROUTE, *receipt_routes(anywhere=False)),
        kinds=(DIDNT_HELP,),
    ),
    Step(
        STATUS_ANSWERED,
        "A case status was shown with its meaning and next step.",
        ask=_WHAT_NEXT,
        routes=(
            DIDNT_HELP_ROUTE,
            route("status", STATUS_ASK, _check_another, "The applicant checks another case."),
            stay(_full_history, "The case's full dated history was shown.", needs=(CASE,)),
        ),
        kinds=(DIDNT_HELP, AGAIN, HISTORY),
    ),
)
