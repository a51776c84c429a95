"""The in-person appointment request (2023 online form): type, receipt or A-number, the
reason, the document checklist, an optional preferred date; stored pending review with a
reference. Tier 1/Tier 2 review the stored request (`appointment_requests`)."""

from __future__ import annotations

import secrets
from datetime import date

from bot.dialogs.automated_common import config, long_date, pressed_common, way_out
from bot.dialogs.automated_status import reject_malformed
from bot.engine.dialogs import registry as dialogs
from bot.engine.turn import Turn
from bot.model import Button
from bot.storage.timefmt import to_db
from flows import automated as flow
from flows.appointment_request import check_preferred_date, check_reason
from flows.identifiers import check_identifier
from flows.receipts import check_receipt, looks_like_receipt

TYPE, DOCS_YES, DOCS_NO, SKIP_DATE = "apr:type:", "apr:docs:yes", "apr:docs:no", "apr:date:skip"
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def new_reference(turn: Turn) -> str:
    code = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))
    return f"APR-{turn.now:%y%m%d}-{code}"


@dialogs.on_enter(flow.APR_TYPE)
async def ask_for_type(turn: Turn) -> None:
    types = config(turn).requests.types
    turn.say(
        "apr.choose_type",
        buttons=[
            *(Button(t.label, TYPE + t.id) for t in types),
            turn.btn("buttons.menu", "nav:menu"),
        ],
    )


@dialogs.on_input(flow.APR_TYPE)
async def chose_type(turn: Turn) -> bool:
    data = turn.button or ""
    chosen = config(turn).requests.get(data[len(TYPE) :]) if data.startswith(TYPE) else None
    if chosen is None:
        return await pressed_common(turn)
    turn.slots["apr_type"] = chosen.id
    await turn.fire("apr_type", rule=f"Request type chosen: {chosen.id}.")
    return True


@dialogs.on_enter(flow.APR_IDENTIFIER)
async def ask_for_identifier(turn: Turn) -> None:
    chosen = config(turn).requests.get(turn.slots.get("apr_type", ""))
    turn.say(
        "apr.ask_identifier",
        type=chosen.label if chosen else "",
        description=chosen.description if chosen else "",
    )


@dialogs.on_input(flow.APR_IDENTIFIER)
async def typed_identifier(turn: Turn) -> bool:
    if turn.button is not None:
        return await pressed_common(turn)
    if config(turn).self_service.wants_person(turn.text or ""):
        return False
    check = check_identifier(turn.text or "")
    if not check.ok:
        if check.rule == "identifier.unreadable":
            turn.reject("apr.identifier_unreadable")
        else:
            reject_malformed(turn, check_receipt(turn.text or ""))
        return True
    turn.slots["apr_identifier"] = check.value
    await turn.fire("apr_identified", rule=f"{check.rule}: identifier given.")
    return True


@dialogs.on_enter(flow.APR_REASON)
async def ask_for_reason(turn: Turn) -> None:
    turn.say("apr.ask_reason")


@dialogs.on_input(flow.APR_REASON)
async def typed_reason(turn: Turn) -> bool:
    if turn.button is not None:
        return await pressed_common(turn)
    decision = check_reason(turn.text or "")
    if not decision.ok:
        turn.reject(decision.rule)
        return True
    turn.slots["apr_reason"] = decision.value
    await turn.fire("apr_reason", rule="The reason for the request was given.")
    return True


def _checklist_buttons(turn: Turn) -> list[Button]:
    return [
        turn.btn("apr.buttons.have_documents", DOCS_YES),
        turn.btn("apr.buttons.missing_documents", DOCS_NO),
        turn.btn("buttons.menu", "nav:menu"),
    ]


@dialogs.on_enter(flow.APR_CHECKLIST)
async def show_checklist(turn: Turn) -> None:
    chosen = config(turn).requests.get(turn.slots.get("apr_type", ""))
    items = "\n".join(f"• {item}" for item in (chosen.checklist if chosen else []))
    turn.say(
        "apr.checklist",
        type=chosen.label if chosen else "",
        items=items,
        buttons=_checklist_buttons(turn),
    )


@dialogs.on_input(flow.APR_CHECKLIST)
async def answered_checklist(turn: Turn) -> bool:
    if turn.button == DOCS_YES:
        await turn.fire("apr_documents", rule="The applicant confirmed the documents.")
        return True
    if turn.button == DOCS_NO:
        turn.say("apr.documents_missing", buttons=_checklist_buttons(turn))
        return True
    return await pressed_common(turn)


@dialogs.on_enter(flow.APR_DATE)
async def ask_for_date(turn: Turn) -> None:
    turn.say("apr.ask_date", buttons=[turn.btn("apr.buttons.no_date", SKIP_DATE)])


@dialogs.on_input(flow.APR_DATE)
async def typed_date(turn: Turn) -> bool:
    if turn.button == SKIP_DATE:
        await _submit(turn, None)
        return True
    if turn.button is not None:
        return await pressed_common(turn)
    text = turn.text or ""
    if looks_like_receipt(text):
        return False  # a receipt typed here is looked up by the tier's interceptor
    decision = check_preferred_date(text, turn.now, config(turn).requests.max_days_ahead)
    if not decision.ok:
        turn.reject(
            decision.rule,
            days=config(turn).requests.max_days_ahead,
            buttons=[turn.btn("apr.buttons.no_date", SKIP_DATE)],
        )
        return True
    await _submit(turn, decision.value)
    return True


async def _submit(turn: Turn, preferred: str | None) -> None:
    chosen = config(turn).requests.get(turn.slots.get("apr_type", ""))
    reference = new_reference(turn)
    now = to_db(turn.now)
    # OR IGNORE + expect_rows: a reference that already exists makes the turn rerun with
    # a fresh one instead of failing.
    turn.write(
        "INSERT OR IGNORE INTO appointment_requests (reference, channel, user_id,"
        " request_type, identifier, reason, preferred_date, status, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending_review', ?, ?)",
        (
            reference,
            turn.key.channel,
            turn.key.user_id,
            turn.slots.get("apr_type"),
            turn.slots.get("apr_identifier"),
            turn.slots.get("apr_reason"),
            preferred,
            now,
            now,
        ),
        expect_rows=1,
    )
    turn.slots["apr_reference"] = reference
    date_note = (
        turn.t("apr.preferred_date_note", date=long_date(date.fromisoformat(preferred)))
        if preferred
        else turn.t("apr.no_date_note")
    )
    turn.say(
        "apr.submitted",
        reference=reference,
        type=chosen.label if chosen else "",
        date_note=date_note,
        buttons=way_out(turn),
    )
    await turn.fire("apr_submitted", rule="The request was stored, pending review.")


@dialogs.on_input(flow.APR_SUBMITTED)
async def after_request(turn: Turn) -> bool:
    return await pressed_common(turn)
