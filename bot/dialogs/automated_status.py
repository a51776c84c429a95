"""Case status by receipt number: asked for, typed anywhere in the automated tier, or
given with /status. The answer: title, date, form, plain meaning and the next step."""

from __future__ import annotations

import logging

from bot.cases.provider import CaseLookupFailed
from bot.dialogs.automated_common import cases, config, long_date, pressed_common, way_out
from bot.engine.dialogs import registry as dialogs
from bot.engine.turn import Turn
from flows import automated as flow
from flows.case_records import CaseRecord
from flows.privacy import mask_personal_data
from flows.receipts import ReceiptCheck, ReceiptNumber, check_receipt, valid_prefixes

log = logging.getLogger(__name__)

AGAIN = "status:again"


def reject_malformed(turn: Turn, check: ReceiptCheck) -> None:
    """The specific reason a receipt number cannot be read; nothing changes."""
    turn.reject(
        check.rule,
        length=check.length,
        prefix=check.normalised[:3],
        prefixes=", ".join(valid_prefixes()),
        characters=", ".join(check.bad_characters),
    )


async def find_case(turn: Turn, receipt: ReceiptNumber) -> CaseRecord | None:
    """The case on file, or None after telling the applicant why there is none to show."""
    try:
        record = await cases(turn).lookup(receipt)
    except CaseLookupFailed:
        turn.say("status.unavailable", buttons=way_out(turn))
        return None
    if record is None:
        log.info("no case on file for %s", mask_personal_data(receipt.value))
        turn.say("status.not_found", receipt=receipt.value, buttons=way_out(turn))
    return record


async def answer_receipt(turn: Turn, text: str) -> None:
    """Look up the receipt in `text` and answer; move to the answered state when the
    machine allows it from here, otherwise answer in place."""
    check = check_receipt(text)
    if check.receipt is None:
        reject_malformed(turn, check)
        return
    record = await find_case(turn, check.receipt)
    if record is None:
        return
    turn.slots["receipt"] = record.receipt_number
    moving = turn.can_fire("lookup")
    explanation = config(turn).statuses.explain(record.status_title)
    buttons = (
        [turn.btn("status.buttons.again", AGAIN), *way_out(turn)]
        if moving
        else [turn.btn("buttons.menu", "nav:menu")]
    )
    turn.say(
        "status.answer",
        receipt=record.receipt_number,
        title=record.status_title,
        date=long_date(record.status_date),
        form=record.form_type,
        group=explanation.group_name,
        meaning=explanation.meaning,
        next_step=explanation.next_step,
        origin=_origin(turn, check.receipt),
        buttons=buttons,
    )
    if moving:
        await turn.fire("lookup", rule=f"{explanation.rule}: the case status was shown.")


def _origin(turn: Turn, receipt: ReceiptNumber) -> str:
    """What the receipt's letters and digits say about where and when it was received."""
    office = turn.t(f"origin.office.{receipt.office}")
    decoded = receipt.decode()
    if decoded is None:
        return turn.t("origin.online", office=office)
    if decoded.working_day is None:
        return turn.t("origin.year", office=office, year=decoded.fiscal_year)
    return turn.t("origin.day", office=office, year=decoded.fiscal_year, day=decoded.working_day)


@dialogs.command("status")
async def asked_for_status(turn: Turn) -> bool:
    if turn.args:
        await answer_receipt(turn, turn.args)
    elif turn.can_fire("status"):
        await turn.fire("status", rule="The applicant typed /status.")
    else:
        turn.reject("status.usage")
    return True


@dialogs.on_enter(flow.STATUS_ASK)
async def ask_for_receipt(turn: Turn) -> None:
    turn.say("status.ask_receipt", buttons=[turn.btn("buttons.menu", "nav:menu")])


@dialogs.on_input(flow.STATUS_ASK)
async def typed_receipt(turn: Turn) -> bool:
    if turn.button is not None:
        return await pressed_common(turn)
    if config(turn).self_service.wants_person(turn.text or ""):
        return False  # the tier's interceptor hands over to a person
    await answer_receipt(turn, turn.text or "")
    return True


@dialogs.on_input(flow.STATUS_ANSWERED)
async def after_answer(turn: Turn) -> bool:
    if turn.button == AGAIN:
        await turn.fire("status", rule="The applicant wants to check another case.")
        return True
    return await pressed_common(turn)
