"""Loaders, effects and the ticker of the live operator chat (see `flows/tier1_live.py`).

The applicant's side runs in turns: joining the queue, messages kept or relayed to the
operator's inbox in the outbox, the operator's signals (pick up, closing note, service
request, callback booking) and, however the chat is left, closing the queue entry. The
operator's own messages and actions come through `bot.staff.live`.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import TYPE_CHECKING

from bot.actions import tier2
from bot.engine.program import Actions
from bot.engine.turn import Turn
from bot.model import ConversationKey, Signal
from bot.storage.database import Conflict
from bot.storage.handoffs import handoff_kind, operator_inbox
from bot.storage.references import new_reference
from flows.callback_slots import candidate_slots
from flows.handoff import LEFT, WAITING, closing_status, wait_ran_out
from flows.phone import parse_us_phone
from flows.state import ConversationState
from flows.steps import Say
from flows.tier1_live import (
    CHAT_SLOT_COUNTS,
    HANDOFF,
    QUEUE,
    QUEUE_LENGTH,
    TIMEOUT,
    LiveChatEffect,
    operator_name,
)

if TYPE_CHECKING:
    from bot.engine.services import Services

ORPHANED = "handoff.orphaned"  # a waiting entry whose conversation had moved on


# ---- loaders -----------------------------------------------------------------------------


async def load_handoff(turn: Turn) -> None:
    """The queue entry of this conversation's live chat, and how many wait before it."""
    chat = turn.state.live_chat
    if chat is None or chat.reference is None:
        return
    handoffs = turn.ports.handoffs
    entry = await handoffs.get(chat.reference)
    turn.loaded.handoff = entry
    if entry is not None and entry.status == WAITING:
        turn.loaded.handoff_ahead = await handoffs.ahead_of(entry.reference)


async def load_queue_length(turn: Turn) -> None:
    turn.loaded.handoff_ahead = await turn.ports.handoffs.waiting_count()


async def load_slot_counts(turn: Turn) -> None:
    """Booked callbacks per slot over every time an operator's booking may take."""
    policy = turn.services.policy.callbacks
    times = candidate_slots(turn.now, False, policy) + candidate_slots(turn.now, True, policy)
    turn.loaded.slot_counts = (
        await turn.ports.callbacks.booked_counts(min(times), max(times)) if times else {}
    )


# ---- effects -----------------------------------------------------------------------------


def _reference(turn: Turn) -> str:
    chat = turn.state.live_chat
    assert chat is not None and chat.reference is not None  # the step's guard checked it
    return chat.reference


async def join(turn: Turn) -> None:
    chat = turn.state.live_chat
    assert chat is not None  # the route's guard set it
    reference = new_reference("LC")
    triage = turn.state.triage
    turn.write(
        turn.ports.handoffs.open(
            reference,
            turn.key,
            issue=triage.issue if triage else None,
            receipt=turn.state.receipt,
            came_from=chat.came_from,
            now=turn.now,
        )
    )
    turn.state = turn.state.but(live_chat=chat.but(reference=reference))


async def keep_message(turn: Turn) -> None:
    """What the applicant typed: kept with the chat and, once an operator has it, queued in
    the operator's inbox. An input its channel delivered twice is relayed once."""
    reference, source = _reference(turn), turn.input.source
    handoffs = turn.ports.handoffs
    if source is not None and await handoffs.relayed(source):
        return
    text = turn.answer.text
    turn.write(handoffs.applicant_message(reference, text, turn.now, source=source))
    entry = turn.loaded.handoff
    if entry is not None and entry.operator is not None:
        said = Say("tier1.live_chat.staff.from_applicant", {"reference": reference, "text": text})
        _tell_operator(turn, entry.operator, reference, said)


async def assign(turn: Turn) -> None:
    chat = turn.state.live_chat
    assert chat is not None and chat.operator is not None  # the route's guard set it
    turn.write(turn.ports.handoffs.assign(_reference(turn), chat.operator, turn.now))


async def closing_note(turn: Turn) -> None:
    entry = turn.loaded.handoff
    args = turn.answer.args
    note = args[2].strip() if len(args) > 2 else ""
    if entry is not None and entry.operator is not None and note:
        turn.write(
            turn.ports.handoffs.operator_message(
                entry.reference, entry.operator, note, turn.now, while_open=True
            )
        )


async def service_request(turn: Turn) -> None:
    _, _, number, issue = turn.answer.args[:4]
    turn.write(
        turn.ports.service_requests.open(
            number, turn.key, issue, turn.state.receipt, turn.rule, turn.now
        )
    )


async def book_callback(turn: Turn) -> None:
    """The Tier 2 booking, as the applicant's own confirmation makes it, then the news."""
    await tier2.book_callback(turn)
    draft = turn.state.callback
    assert draft is not None and draft.slot is not None and draft.phone is not None
    chat = turn.state.live_chat
    phone = parse_us_phone(draft.phone)
    turn.say(
        Say(
            "tier1.live_chat.callback_booked",
            {
                "name": operator_name(
                    chat.operator if chat and chat.operator else "", turn.facts()
                ),
                "reference": draft.reference,
                "when": draft.slot.astimezone(turn.now.tzinfo),
                "phone": phone.display if phone else draft.phone,
            },
        )
    )


async def leave(turn: Turn) -> None:
    """The chat ends however the applicant leaves it: the queue entry is closed by the rule
    that ended it and, when the applicant walked away from an operator, the operator is
    told."""
    before = ConversationState.restore(turn.stored.answers).live_chat
    if before is None or before.reference is None:
        return
    entry = await turn.ports.handoffs.get(before.reference)
    if entry is None or not entry.is_open:
        return
    status = closing_status(turn.rule)
    turn.write(turn.ports.handoffs.close(entry.reference, status, turn.rule, turn.now))
    if status == LEFT and entry.operator is not None:
        said = Say("tier1.live_chat.staff.applicant_left", {"reference": entry.reference})
        _tell_operator(turn, entry.operator, entry.reference, said)


def _tell_operator(turn: Turn, staff_id: str, reference: str, said: Say) -> None:
    turn.notify(turn.reply(said), kind=handoff_kind(reference), key=operator_inbox(staff_id))


# ---- the ticker --------------------------------------------------------------------------


async def waits_run_out(services: Services, now: datetime) -> list[Signal]:
    """Every chat nobody picked up within the wait: back to the assistant. An entry whose
    conversation has already moved on (it cannot take the signal) is closed here."""
    policy = services.policy.live_chat
    ports = services.ports
    signals = []
    for entry in await ports.handoffs.waiting():
        if not wait_ran_out(entry, now, policy):
            continue
        key = ConversationKey(entry.channel, entry.user_id)
        stored = await ports.conversations.load(key, QUEUE)
        chat = ConversationState.restore(stored.answers).live_chat
        if stored.state == QUEUE and chat is not None and chat.reference == entry.reference:
            signals.append(Signal(key, TIMEOUT, (entry.reference,)))
        else:
            with contextlib.suppress(Conflict):  # closed meanwhile: nothing left to do
                await ports.db.commit([ports.handoffs.close(entry.reference, LEFT, ORPHANED, now)])
    return signals


ACTIONS = Actions(
    loaders={
        HANDOFF: load_handoff,
        QUEUE_LENGTH: load_queue_length,
        CHAT_SLOT_COUNTS: load_slot_counts,
    },
    effects={
        LiveChatEffect.JOIN: join,
        LiveChatEffect.KEEP: keep_message,
        LiveChatEffect.ASSIGN: assign,
        LiveChatEffect.NOTE: closing_note,
        LiveChatEffect.SERVICE_REQUEST: service_request,
        LiveChatEffect.BOOK: book_callback,
        LiveChatEffect.LEAVE: leave,
    },
    tickers=(waits_run_out,),
)
