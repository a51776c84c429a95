"""Live chats with applicants, for operators on Telegram: /chats, /pick REF, then type to
reply; /handback, /resolve [note], /request [issue], /callback PHONE [ZIP] [urgent], and
/say REF text to write in a chat by its reference.

Only user ids on the staff allowlist (`telegram.staff_user_ids`) may use them; anyone else
gets the staff refusal and the attempt is logged without personal data. While an operator
has a live chat, what they type (not a command) goes to the applicant; otherwise it is their
own conversation with the assistant, like anyone's. The work is done by the live desk
(`bot.staff.live.LiveDesk`), the same one `tierline staff chat` uses; what the applicant
writes reaches the operator's chat through the outbox pusher.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection

from telegram import Update
from telegram.ext import ContextTypes

from bot.adapters.telegram.handlers import ApplicantHandlers, user_ref
from bot.adapters.telegram.sender import Sender, reply_to
from bot.engine.engine import Engine, TurnNotSaved
from bot.staff.live import LiveChatError, LiveDesk

log = logging.getLogger(__name__)

COMMANDS = ("chats", "pick", "say", "handback", "resolve", "request", "callback")
_REFERENCE = re.compile(r"LC-[A-Z0-9]{6}", re.IGNORECASE)


class LiveChatCommands:
    def __init__(
        self,
        engine: Engine,
        sender: Sender,
        staff_user_ids: Collection[int],
        applicants: ApplicantHandlers,
        *,
        push_notices: Callable[[], None] = lambda: None,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.staff_user_ids = frozenset(staff_user_ids)
        self.applicants = applicants
        self.desk = LiveDesk(engine, on_change=push_notices)

    # ---- the commands -------------------------------------------------------------------

    async def on_chats_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if await self._admit(update, "chats") is None:
            return
        chats = await self.desk.waiting(self.engine.now())
        if not chats:
            return await self._reply(update, self.desk.t("empty"))
        lines = [self.desk.t("header", count=len(chats))]
        lines += [self.desk.waiting_line(c) for c in chats]
        await self._reply(update, "\n\n".join(lines))

    async def on_pick_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        staff = await self._admit(update, "pick")
        if staff is None:
            return
        args = context.args or []
        if len(args) != 1:
            return await self._reply(update, self._usage("pick_usage"))
        try:
            picked = await self.desk.pick(args[0], staff, self.engine.now())
        except (LiveChatError, TurnNotSaved) as exc:
            return await self._reply(update, self._error(exc))
        entry = picked.entry
        lines = [
            self.desk.t(
                "picked",
                reference=entry.reference,
                issue=entry.issue or self.desk.t("no_issue"),
                name=picked.name,
            )
        ]
        if picked.history:
            lines.append(self.desk.t("history"))
            lines += self.desk.history_lines(picked.history)
        lines.append(self._usage("help"))
        await self._reply(update, "\n".join(lines))

    async def on_say_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        staff = await self._admit(update, "say")
        if staff is None:
            return
        args = context.args or []
        if len(args) < 2 or not _REFERENCE.fullmatch(args[0]):
            return await self._reply(update, self._usage("say_usage"))
        await self._relay(update, staff, args[0], " ".join(args[1:]))

    async def on_handback_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        staff, reference, _ = await self._in_chat(update, context, "handback")
        if staff is not None and reference is not None:
            await self._act(update, self.desk.hand_back(reference, staff, self.engine.now()))

    async def on_resolve_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        staff, reference, rest = await self._in_chat(update, context, "resolve")
        if staff is not None and reference is not None:
            note = " ".join(rest)
            await self._act(update, self.desk.resolve(reference, staff, note, self.engine.now()))

    async def on_request_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        staff, reference, rest = await self._in_chat(update, context, "request")
        if staff is not None and reference is not None:
            issue = rest[0] if rest else None
            now = self.engine.now()
            await self._act(update, self.desk.service_request(reference, staff, issue, now))

    async def on_callback_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        staff, reference, rest = await self._in_chat(update, context, "callback")
        if staff is None or reference is None:
            return
        urgent = True if any(w.lower() == "urgent" for w in rest) else None
        rest = [w for w in rest if w.lower() != "urgent"]
        if not 1 <= len(rest) <= 2:
            return await self._reply(update, self._usage("callback_usage"))
        zip_code = rest[1] if len(rest) > 1 else None
        try:
            summary, _ = await self.desk.callback(
                reference, staff, rest[0], zip_code, urgent, self.engine.now()
            )
        except (LiveChatError, TurnNotSaved) as exc:
            return await self._reply(update, self._error(exc))
        await self._reply(update, summary)

    async def on_staff_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text from a staff member: to the applicant of their live chat, if they have one;
        otherwise their own conversation with the assistant."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.text is None:
            return
        current = await self.desk.current(_staff_id(user.id))
        if current is None:
            return await self.applicants.on_text_message(update, context)
        await self._relay(update, _staff_id(user.id), current.reference, message.text)

    # ---- helpers ------------------------------------------------------------------------

    async def _relay(self, update: Update, staff: str, reference: str, text: str) -> None:
        message = update.effective_message
        source = f"telegram:{message.chat_id}:{message.message_id}" if message is not None else None
        try:
            await self.desk.say(reference, staff, text, self.engine.now(), source=source)
        except (LiveChatError, TurnNotSaved) as exc:
            await self._reply(update, self._error(exc))

    async def _in_chat(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, command: str
    ) -> tuple[str | None, str | None, list[str]]:
        """The staff id, the chat named first (or the operator's live chat) and the rest."""
        staff = await self._admit(update, command)
        if staff is None:
            return None, None, []
        args = list(context.args or [])
        if args and _REFERENCE.fullmatch(args[0]):
            return staff, args[0], args[1:]
        current = await self.desk.current(staff)
        if current is None:
            await self._reply(update, self.desk.t("none_live"))
            return staff, None, []
        return staff, current.reference, args

    async def _act(self, update: Update, action: object) -> None:
        try:
            summary = await action  # type: ignore[misc]
        except (LiveChatError, TurnNotSaved) as exc:
            return await self._reply(update, self._error(exc))
        await self._reply(update, str(summary))

    async def _admit(self, update: Update, command: str) -> str | None:
        """The staff id when the sender is on the allowlist; else refuse."""
        user = update.effective_user
        if user is None or user.id not in self.staff_user_ids:
            log.warning(
                "staff command /%s refused: %s is not on the staff allowlist",
                command,
                user_ref(user.id) if user else "unknown user",
            )
            await self._reply(update, self.engine.text("telegram.staff.refused"))
            return None
        log.info("staff command /%s by %s", command, user_ref(user.id))
        return _staff_id(user.id)

    def _usage(self, key: str) -> str:
        return self.engine.text(f"tier1.live_chat.staff.telegram.{key}")

    def _error(self, exc: Exception) -> str:
        if isinstance(exc, TurnNotSaved):
            log.error("a live chat change could not be saved: %s", exc)
            return self.engine.text("error.not_saved")
        return str(exc)

    async def _reply(self, update: Update, text: str) -> None:
        await reply_to(self.sender, update, text)


def _staff_id(user_id: int) -> str:
    """A Telegram staff member's id, as the staff desk and the live desk record it."""
    return f"telegram:{user_id}"
