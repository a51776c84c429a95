"""Loaders and effects of Tier 2 (see `flows/tier2.py` for its steps): slot counts, the room
at the picked slot, the applicant's callbacks; booking, moving and cancelling a callback
and the reminder the business day before.

The booking and moving writes carry the capacity precondition (`bot.storage.callbacks`):
when the slot filled meanwhile, the commit conflicts and the engine decides the turn again
on fresh data, where `flows.tier2` sees the slot full and offers other times.

The simulated officer of trainer mode is not here: it works through the staff desk, which
the assembly registers as a ticker (`bot.staff.officer`), since actions do not import the
staff package.
"""

from __future__ import annotations

from datetime import datetime

from bot.engine.program import Actions
from bot.engine.turn import Turn
from bot.storage.callbacks import reminder_kind
from bot.storage.references import new_reference
from flows.callback_slots import window
from flows.callbacks import CallbackRecord, reminder_due
from flows.phone import parse_us_phone
from flows.state import CallbackDraft
from flows.steps import Say
from flows.tier2 import CALLBACK_COUNTS, MY_REQUESTS, PICKED_CALLBACK, SLOT_ROOM, Tier2Effect


def _draft(turn: Turn) -> CallbackDraft:
    return turn.state.callback or CallbackDraft()


def _slot(turn: Turn) -> datetime:
    slot = _draft(turn).slot
    assert slot is not None  # the confirm step is only reached with a slot
    return slot.astimezone(turn.now.tzinfo)


# ---- loaders -----------------------------------------------------------------------------


async def load_callback_counts(turn: Turn) -> None:
    """Booked callbacks per slot over every time a request made now may be offered (an
    urgent one falls back to the regular window when its own is full)."""
    first, last = window(turn.now, turn.services.policy.callbacks)
    turn.loaded.slot_counts = await turn.ports.callbacks.booked_counts(first, last)


async def load_slot_room(turn: Turn) -> None:
    draft = _draft(turn)
    if draft.slot is not None:
        turn.loaded.slot_booked = await turn.ports.callbacks.count_at(draft.slot)


async def load_my_requests(turn: Turn) -> None:
    """Everything the applicant has: callbacks, requests, visits, biometrics bookings."""
    turn.loaded.my_requests = tuple(await turn.ports.mine.of(turn.key))


async def load_picked_callback(turn: Turn) -> None:
    """The callback a pressed button names, when it is this conversation's."""
    found = await turn.ports.callbacks.get(turn.answer.arg)
    if found is not None and (found.channel, found.user_id) == (turn.key.channel, turn.key.user_id):
        turn.loaded.picked_callback = found


# ---- effects -----------------------------------------------------------------------------


async def book_callback(turn: Turn) -> None:
    draft, slot = _draft(turn), _slot(turn)
    assert draft.phone is not None
    reference = new_reference("CB")
    callback = CallbackRecord(
        reference=reference,
        channel=turn.key.channel,
        user_id=turn.key.user_id,
        issue=draft.issue,
        urgent=draft.urgent,
        urgency_rule=draft.urgency_rule,
        inperson_category=draft.inperson_category,
        inperson_justified=draft.inperson_justified,
        inperson_rule=draft.inperson_rule,
        phone=draft.phone,
        zip_code=draft.zip,
        receipt=turn.state.receipt,
        slot_at=slot,
        role=draft.role,
        triage_rule=draft.triage_rule,
        escalation_reason=turn.state.escalation_reason,
        evidence=draft.evidence,
    )
    turn.write(
        turn.ports.callbacks.book(callback, turn.services.policy.callbacks.capacity, turn.now)
    )
    _remind(turn, reference, slot, draft.phone)


async def move_callback(turn: Turn) -> None:
    draft, slot = _draft(turn), _slot(turn)
    assert draft.moving is not None and draft.phone is not None
    callbacks = turn.ports.callbacks
    turn.write(
        callbacks.move(draft.moving, slot, turn.services.policy.callbacks.capacity, turn.now),
        callbacks.drop_reminder(draft.moving),
    )
    _remind(turn, draft.moving, slot, draft.phone)


async def cancel_callback(turn: Turn) -> None:
    picked = turn.loaded.picked_callback
    assert picked is not None  # the route's guard checked it
    callbacks = turn.ports.callbacks
    turn.write(
        callbacks.cancel(picked.reference, turn.now), callbacks.drop_reminder(picked.reference)
    )


def _remind(turn: Turn, reference: str, slot: datetime, phone: str) -> None:
    """Queue the reminder when it is due later; promise one only when one is queued."""
    due = reminder_due(slot, turn.services.policy.tier2.reminder_business_days, turn.now)
    if due is not None:
        shown = parse_us_phone(phone)
        notice = Say(
            "tier2.notice.reminder",
            {"reference": reference, "when": slot, "phone": shown.display if shown else phone},
        )
        turn.notify(turn.notice(notice), kind=reminder_kind(reference), due_at=due)
    turn.state = turn.state.but(
        callback=_draft(turn).but(reference=reference, reminded=due is not None)
    )


ACTIONS = Actions(
    loaders={
        CALLBACK_COUNTS: load_callback_counts,
        SLOT_ROOM: load_slot_room,
        MY_REQUESTS: load_my_requests,
        PICKED_CALLBACK: load_picked_callback,
    },
    effects={
        Tier2Effect.BOOK: book_callback,
        Tier2Effect.MOVE: move_callback,
        Tier2Effect.CANCEL: cancel_callback,
    },
)
