"""The operator's side of a live chat at Tier 1: the chats waiting, picking one up, writing
to the applicant, and ending it (resolve, hand back) or acting for the applicant (service
request, officer callback).

A contract used by `tierline staff chat` and the Telegram staff commands alike. What changes
the applicant's conversation is a signal delivered by the engine (`Engine.signal`), taken by
the steps of `flows/tier1_live.py` in a turn of that conversation, so it is committed with the
conversation's own state and the news for the applicant, in one piece. What the operator
writes is stored with the chat and queued in the applicant's outbox in one commit, only while
the chat is still live with that operator. Anything that cannot be done is a
`LiveChatError` whose text is one line for the operator, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from msgspec import Struct

from bot.engine.engine import Engine
from bot.inputs import valid_text
from bot.model import ConversationKey, Signal, TurnResult
from bot.storage.database import Conflict
from bot.storage.handoffs import handoff_kind, operator_inbox
from bot.storage.references import new_service_item
from bot.text import in_every_language, render, text
from flows.callbacks import zip5
from flows.handoff import LIVE, WAITING, Handoff, RelayedMessage, operator_label
from flows.phone import parse_us_phone
from flows.privacy import mask_personal_data
from flows.steps import Say
from flows.tier1_live import BACK, CALLBACK, PICK, REQUEST, RESOLVE

PREVIEW_CHARS = 60


class LiveChatError(Exception):
    """Something the operator can act on (unknown reference, picked up by someone else,
    handed back...); str() is one line that says what."""


class WaitingChat(Struct, frozen=True):
    reference: str
    position: int
    waited_minutes: int
    issue: str | None
    preview: str  # the applicant's first words, masked, or "" when none yet


class PickedChat(Struct, frozen=True):
    entry: Handoff
    name: str  # how the applicant sees the operator: "Operator 12", "Operator Dana"
    history: tuple[RelayedMessage, ...]


class BookedCallback(Struct, frozen=True):
    reference: str
    slot_at: datetime


class LiveDesk:
    def __init__(self, engine: Engine, *, on_change: Callable[[], None] = lambda: None) -> None:
        self.engine = engine
        self.services = engine.services
        self.ports = engine.services.ports
        self.on_change = on_change  # news queued in the outbox: e.g. wake the Telegram pusher

    # ---- texts ------------------------------------------------------------------------------

    def t(self, key: str, **params: Any) -> str:
        """A staff text of the live chat (`tier1.live_chat.staff.<key>`)."""
        return text(self.services.messages, f"tier1.live_chat.staff.{key}", params)

    def operator_name(self, staff_id: str) -> str:
        key, params = operator_label(staff_id, self.services.policy.live_chat)
        return render(self.services.messages, Say(key, params))

    def history_lines(self, history: tuple[RelayedMessage, ...]) -> list[str]:
        return [
            self.t("line_applicant" if m.sender == "applicant" else "line_operator", text=m.text)
            for m in history
        ]

    def waiting_line(self, chat: WaitingChat) -> str:
        return self.t(
            "item",
            reference=chat.reference,
            waited=chat.waited_minutes,
            issue=chat.issue or self.t("no_issue"),
            preview=chat.preview or self.t("no_message"),
        )

    # ---- the queue ----------------------------------------------------------------------------

    async def waiting(self, now: datetime) -> list[WaitingChat]:
        """The chats waiting for an operator, the longest waiting first; what the applicant
        wrote is shown masked and cut short (the whole of it comes with the pick-up)."""
        chats = []
        for position, entry in enumerate(await self.ports.handoffs.waiting(), 1):
            said = [m for m in await self.ports.handoffs.messages(entry.reference)]
            first = said[0].text if said else ""
            preview = mask_personal_data(first)
            if len(preview) > PREVIEW_CHARS:
                preview = preview[: PREVIEW_CHARS - 1].rstrip() + "…"
            waited = max(int((now - entry.created_at).total_seconds() // 60), 0)
            chats.append(WaitingChat(entry.reference, position, waited, entry.issue, preview))
        return chats

    async def current(self, staff_id: str) -> Handoff | None:
        """The chat live with this operator (the latest picked up), if any."""
        live = await self.ports.handoffs.live_with(staff_id)
        return live[0] if live else None

    async def pick(self, reference: str, staff_id: str, now: datetime) -> PickedChat:
        """Pick a waiting chat up; picking up one's own live chat again resumes it."""
        entry = await self._entry(reference)
        if not (entry.status == LIVE and entry.operator == staff_id):
            if entry.status != WAITING:
                raise LiveChatError(self._why_not(entry, staff_id))
            await self._signal(entry, staff_id, PICK, (entry.reference, staff_id), now)
            entry = await self._entry(entry.reference)
        history = tuple(await self.ports.handoffs.messages(entry.reference))
        return PickedChat(entry, self.operator_name(staff_id), history)

    # ---- in the chat --------------------------------------------------------------------------

    async def say(
        self,
        reference: str,
        staff_id: str,
        message: str,
        now: datetime,
        *,
        source: str | None = None,
    ) -> None:
        """Write to the applicant, labelled with the operator's name. A message its channel
        delivered twice (same `source`) is sent once."""
        message = " ".join(message.split())
        if not message:
            return
        message = valid_text(message)[: self.services.settings.limits.text_chars]
        entry = await self._mine(reference, staff_id)
        if source is not None and await self.ports.handoffs.relayed(source):
            return
        said = Say(
            "tier1.live_chat.operator_says",
            {
                "name": Say(*operator_label(staff_id, self.services.policy.live_chat)),
                "text": message,
            },
        )
        writes = [
            self.ports.handoffs.operator_message(
                entry.reference, staff_id, message, now, source=source
            ),
            self.ports.outbox.enqueue(
                _key(entry),
                handoff_kind(entry.reference),
                in_every_language(self.services.messages, said),
                now=now,
            ),
        ]
        try:
            await self.ports.db.commit(writes)
        except Conflict:
            if source is not None and await self.ports.handoffs.relayed(source):
                return  # the same message, relayed meanwhile
            raise LiveChatError(self._why_not(await self._entry(reference), staff_id)) from None
        self.on_change()

    async def hand_back(self, reference: str, staff_id: str, now: datetime) -> str:
        entry = await self._mine(reference, staff_id)
        await self._signal(entry, staff_id, BACK, (entry.reference, staff_id), now)
        return self.t("handed_back", reference=entry.reference)

    async def resolve(self, reference: str, staff_id: str, note: str, now: datetime) -> str:
        entry = await self._mine(reference, staff_id)
        note = valid_text(" ".join(note.split()))[: self.services.settings.limits.staff_note_chars]
        await self._signal(entry, staff_id, RESOLVE, (entry.reference, staff_id, note), now)
        return self.t("resolved", reference=entry.reference)

    async def service_request(
        self, reference: str, staff_id: str, issue: str | None, now: datetime
    ) -> str:
        entry = await self._mine(reference, staff_id)
        knowledge = self.services.policy.knowledge
        issue = issue or entry.issue or "something_else"
        if knowledge.issue(issue) is None:
            issues = ", ".join(i.id for i in knowledge.issues)
            raise LiveChatError(self.t("bad_issue", issue=issue, issues=issues))
        number = new_service_item()
        args = (entry.reference, staff_id, number, issue)
        await self._signal(entry, staff_id, REQUEST, args, now)
        return self.t("request", reference=entry.reference, number=number)

    async def callback(
        self,
        reference: str,
        staff_id: str,
        phone: str,
        zip_code: str | None,
        urgent: bool | None,
        now: datetime,
    ) -> tuple[str, BookedCallback]:
        """Book an officer callback for the applicant at the first free time (the same
        booking as the applicant's own)."""
        entry = await self._mine(reference, staff_id)
        number = parse_us_phone(phone)
        if number is None:
            raise LiveChatError(self.t("bad_phone", phone=phone))
        zip_given = zip5(zip_code) if zip_code else None
        if zip_code and zip_given is None:
            raise LiveChatError(self.t("bad_zip", zip=zip_code))
        urgency = "" if urgent is None else "urgent" if urgent else "regular"
        args = (entry.reference, staff_id, number.e164, zip_given or "", urgency)
        await self._signal(entry, staff_id, CALLBACK, args, now)
        booked = await self.ports.callbacks.open_of(_key(entry))
        newest = max(booked, key=lambda c: (c.created_at or c.slot_at, c.reference))
        done = BookedCallback(newest.reference, newest.slot_at)
        summary = self.t(
            "callback", reference=entry.reference, callback=done.reference, when=done.slot_at
        )
        return summary, done

    # ---- the operator's inbox (console) -------------------------------------------------------

    async def inbox(self, staff_id: str, now: datetime) -> list[str]:
        """What reached this operator since they last looked, oldest first, each once. (On
        Telegram the bot pushes it to the operator's chat instead.)"""
        key = operator_inbox(staff_id)
        notices = await self.ports.outbox.due(key.channel, now, user_id=key.user_id)
        shown = []
        for notice in notices:
            try:
                await self.ports.db.commit([self.ports.outbox.mark_delivered(notice.id, now)])
            except Conflict:
                continue  # shown by another window of the same operator
            shown.append(notice.reply.text)
        return shown

    # ---- checks ---------------------------------------------------------------------------------

    async def _entry(self, reference: str) -> Handoff:
        reference = reference.strip().upper()
        entry = await self.ports.handoffs.get(reference)
        if entry is None:
            raise LiveChatError(self.t("unknown", reference=reference))
        return entry

    async def _mine(self, reference: str, staff_id: str) -> Handoff:
        entry = await self._entry(reference)
        if entry.status != LIVE or entry.operator != staff_id:
            raise LiveChatError(self._why_not(entry, staff_id))
        return entry

    def _why_not(self, entry: Handoff, staff_id: str) -> str:
        """Why `staff_id` cannot act on `entry` now, in one line."""
        if entry.status == WAITING:
            return self.t("waiting", reference=entry.reference)
        if entry.status == LIVE:
            if entry.operator == staff_id:
                return self.t("busy")
            return self.t("taken_by", reference=entry.reference, staff=entry.operator)
        return self.t(f"ended_{entry.status}", reference=entry.reference)

    async def _signal(
        self, entry: Handoff, staff_id: str, name: str, args: tuple[str, ...], now: datetime
    ) -> TurnResult:
        result = await self.engine.signal(Signal(_key(entry), name, args), now)
        if not result.kept:
            if result.replies:  # the step refused it and said why (no callback time...)
                raise LiveChatError(" ".join(r.text for r in result.replies))
            # Not taken: the chat changed meanwhile (the applicant left, someone else...).
            raise LiveChatError(self._why_not(await self._entry(entry.reference), staff_id))
        self.on_change()
        return result


def _key(entry: Handoff) -> ConversationKey:
    return ConversationKey(entry.channel, entry.user_id)
