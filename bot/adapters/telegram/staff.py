"""Staff commands on Telegram: /queue, /take REF, /show REF, /done REF OUTCOME [date] [note],
/release REF, /handover REF USER_ID.

Only user ids on the allowlist (`telegram.staff_user_ids`) may use them; anyone else gets a
refusal and the attempt is logged without personal data. The work itself is done by the
staff desk (`bot.staff.desk.StaffDesk`), the same one `tierline staff` uses; tests may
inject another (`desk=`, `desk_error=`). The full record (`/take`, `/show`) goes to the
officer's own private chat only, and the desk writes each showing to its audit table; the
log says which command ran, never what it showed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import date, datetime
from typing import Any, Protocol

from telegram import Update
from telegram.ext import ContextTypes

from bot.adapters.telegram.handlers import user_ref
from bot.adapters.telegram.sender import Sender, reply_to
from bot.engine.engine import Engine
from bot.inputs import InputRejected, bounded_text
from bot.staff.desk import OUTCOMES, DeskError, StaffDesk, parse_when
from bot.staff.lines import StaffLines

log = logging.getLogger(__name__)

COMMANDS = ("queue", "take", "show", "done", "release", "handover")
_STAFF_PREFIX = "telegram:"  # a Telegram officer's staff id: telegram:<user id>


class Desk(Protocol):
    """What the adapter needs of `bot.staff.desk.StaffDesk`."""

    async def queue(self, now: datetime) -> list[Any]: ...
    async def take(self, reference: str, staff_id: str, now: datetime) -> Any: ...
    async def show(self, reference: str, staff_id: str, now: datetime) -> Any: ...
    async def complete(
        self,
        reference: str,
        outcome: str,
        note: str,
        staff_id: str,
        now: datetime,
        *,
        at: date | datetime | None = None,
    ) -> Any: ...
    async def release(self, reference: str, staff_id: str, now: datetime) -> Any: ...
    async def hand_over(self, reference: str, staff_id: str, to: str, now: datetime) -> Any: ...


class StaffCommands:
    def __init__(
        self,
        engine: Engine,
        sender: Sender,
        staff_user_ids: Collection[int],
        *,
        desk: Desk | None = None,
        desk_error: type[Exception] | None = None,
        push_notices: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.staff_user_ids = frozenset(staff_user_ids)
        self._desk: Desk = desk if desk is not None else StaffDesk.of(engine.services)
        self._lines = StaffLines(engine.services.messages)
        self._desk_error: type[Exception] = desk_error or DeskError
        self.push_notices = push_notices  # the outcome notice goes to the applicant at once

    # ---- the commands -------------------------------------------------------------------

    async def on_queue_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        desk, _ = await self._admit(update, "queue")
        if desk is None:
            return
        try:
            items = await desk.queue(self.engine.now())
        except self._desk_error as exc:
            return await self._reply(update, str(exc))
        if not items:
            return await self._reply(update, self._t("queue_empty"))
        lines = [self._t("queue_header", count=len(items))]
        lines += [self._t("queue_item", **self._item_fields(item)) for item in items]
        await self._reply(update, "\n\n".join(lines))

    async def on_take_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        found = await self._one_reference(update, context, "take")
        if found is None:
            return
        desk, staff_id, reference = found
        try:
            view = await desk.take(reference, staff_id, self.engine.now())
        except self._desk_error as exc:
            return await self._reply(update, str(exc))
        fields = self._item_fields(view.item)
        await self._reply(update, self._t("taken", **fields, view=self._lines.view(view)))

    async def on_show_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        found = await self._one_reference(update, context, "show")
        if found is None:
            return
        desk, staff_id, reference = found
        try:
            view = await desk.show(reference, staff_id, self.engine.now())
        except self._desk_error as exc:
            return await self._reply(update, str(exc))
        await self._reply(update, self._t("shown", view=self._lines.view(view)))

    async def on_done_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        desk, staff_id = await self._admit(update, "done")
        if desk is None:
            return
        args = await self._bounded_args(update, context, note_from=2)
        if args is None:
            return
        if len(args) < 2 or args[1].lower() not in OUTCOMES:
            return await self._reply(update, self._t("done_usage"))
        reference, outcome, rest = args[0], args[1].lower(), args[2:]
        at, rest = _leading_when(rest)
        try:
            done = await desk.complete(
                reference, outcome, " ".join(rest), staff_id, self.engine.now(), at=at
            )
        except self._desk_error as exc:
            return await self._reply(update, str(exc))
        self.push_notices()
        await self._reply(
            update,
            self._t("done", reference=done.reference, outcome=done.outcome, summary=done.summary),
        )

    async def on_release_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        found = await self._one_reference(update, context, "release")
        if found is None:
            return
        desk, staff_id, reference = found
        try:
            done = await desk.release(reference, staff_id, self.engine.now())
        except self._desk_error as exc:
            return await self._reply(update, str(exc))
        await self._reply(update, self._t("moved", summary=done.summary))

    async def on_handover_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        desk, staff_id = await self._admit(update, "handover")
        if desk is None:
            return
        args = await self._bounded_args(update, context)
        if args is None:
            return
        if len(args) != 2 or not args[1].lstrip("-").isdigit():
            return await self._reply(update, self._t("handover_usage"))
        if int(args[1]) not in self.staff_user_ids:
            text = self.engine.text("tier2.staff.error.handover_not_staff", staff=args[1])
            return await self._reply(update, text)
        try:
            done = await desk.hand_over(
                args[0], staff_id, f"{_STAFF_PREFIX}{int(args[1])}", self.engine.now()
            )
        except self._desk_error as exc:
            return await self._reply(update, str(exc))
        await self._reply(update, self._t("moved", summary=done.summary))

    async def _one_reference(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, command: str
    ) -> tuple[Desk, str, str] | None:
        """For `/<command> REF`: the desk, the staff id and the reference, once the sender
        is admitted and the arguments are bounded and complete; None after saying why not."""
        desk, staff_id = await self._admit(update, command)
        if desk is None:
            return None
        args = await self._bounded_args(update, context)
        if args is None:
            return None
        if len(args) != 1:
            await self._reply(update, self._t(f"{command}_usage"))
            return None
        return desk, staff_id, args[0]

    async def _bounded_args(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, *, note_from: int | None = None
    ) -> list[str] | None:
        """The command's arguments made valid text and within `[limits]` (words from
        `note_from` on are a note, bounded as a whole); None after saying what is over."""
        limits = self.engine.services.settings.limits
        args = list(context.args or [])
        head = args if note_from is None else args[:note_from]
        try:
            cleaned = [bounded_text(a, limits.staff_arg_chars) for a in head]
            if note_from is not None and len(args) > note_from:
                note = bounded_text(" ".join(args[note_from:]), limits.staff_note_chars)
                cleaned += note.split(" ")
        except InputRejected as exc:
            await self._reply(update, self.engine.text(exc.key, **exc.params))
            return None
        return cleaned

    # ---- who may ------------------------------------------------------------------------

    async def _admit(self, update: Update, command: str) -> tuple[Desk | None, str]:
        """The desk and the staff id when the sender is on the allowlist; else refuse."""
        user = update.effective_user
        if user is None or user.id not in self.staff_user_ids:
            log.warning(
                "staff command /%s refused: %s is not on the staff allowlist",
                command,
                user_ref(user.id) if user else "unknown user",
            )
            await self._reply(update, self._t("refused"))
            return None, ""
        desk = self._desk
        log.info("staff command /%s by %s", command, user_ref(user.id))
        return desk, f"{_STAFF_PREFIX}{user.id}"

    # ---- talking ------------------------------------------------------------------------

    def _t(self, key: str, **params: object) -> str:
        return self.engine.text(f"telegram.staff.{key}", **params)

    def _item_fields(self, item: Any) -> dict[str, object]:
        return self._lines.chat_item_fields(item)

    async def _reply(self, update: Update, text: str) -> None:
        await reply_to(self.sender, update, text)


def _leading_when(words: list[str]) -> tuple[date | datetime | None, list[str]]:
    """A day, or a day and a time, at the start of `words`, and the words after it."""
    if len(words) >= 2:
        both = parse_when(f"{words[0]} {words[1]}")
        if isinstance(both, datetime):
            return both, words[2:]
    if words:
        day = parse_when(words[0])
        if day is not None:
            return day, words[1:]
    return None, words
