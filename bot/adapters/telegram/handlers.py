"""What a Telegram user did, turned into engine input; what the engine said, sent back.

Handlers are named after what the user did. They hold no business rule: a text or a
button press becomes one `TurnInput` on the `telegram` channel, keyed by the user's id, and
the turn's replies are sent with inline keyboards. The engine decides whether a button is
still valid; the adapter only makes sure callback data is text of at most 64 bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Callable

from telegram import Chat, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import ContextTypes

from bot.adapters.telegram.sender import DeliveryFailed, Sender
from bot.engine.engine import Engine, Receipt, TurnNotSaved
from bot.inputs import button_data_fits
from bot.model import TELEGRAM, ConversationKey, Reply, TurnInput

log = logging.getLogger(__name__)

CHANNEL = TELEGRAM


# Keyed per process: a plain hash of a Telegram id could be reversed by trying them all.
_LOG_KEY = os.urandom(16)


def user_ref(user_id: int) -> str:
    """A short stand-in for a user id in logs: tells two users apart within one run of
    the bot, and names neither."""
    digest = hmac.new(_LOG_KEY, str(user_id).encode(), hashlib.sha256).hexdigest()
    return "u-" + digest[:10]


class ApplicantHandlers:
    """The handlers of everything an applicant can do in a chat with the bot."""

    def __init__(
        self,
        engine: Engine,
        sender: Sender,
        push_notices: Callable[[], None] = lambda: None,
        *,
        receipt: Callable[[ConversationKey], Receipt | None] = lambda key: None,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.push_notices = push_notices  # wakes the outbox pusher
        self.receipt = receipt  # what the inbox keeps with a turn (see inbox.QueuingSender)
        self._groups_told: set[int] = set()

    # ---- private chats ------------------------------------------------------------------

    async def on_text_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Text or a command typed in a private chat: one turn."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or message.text is None:
            return
        # The message's own id goes with it, so one delivered twice is recognised.
        source = f"telegram:{message.chat_id}:{message.message_id}"
        replies = await self._turn(
            user.id, text=message.text, source=source, language=user.language_code
        )
        await self._send(message.chat_id, replies)

    async def on_button_pressed(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline button: answer the press at once, remove the keyboard it came from,
        then run the turn with the button's data."""
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        await self.sender.answer_button(query)
        message = query.message if isinstance(query.message, Message) else None
        if message is not None:
            if message.chat.type != Chat.PRIVATE:
                return  # the bot offers no buttons in groups; nothing to act on
            await self.sender.remove_keyboard(message)
        data = query.data
        if not isinstance(data, str) or not button_data_fits(data):
            # Never ours: the engine refuses it like any stale button and asks its question
            # again, so the applicant is shown the way on.
            log.info("button press with unusable callback data from %s", user_ref(user.id))
            data = ""
        replies = await self._turn(user.id, button=data, language=user.language_code)
        await self._send(message.chat_id if message is not None else user.id, replies)

    async def on_unsupported_media(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE
    ) -> None:
        """A photo, sticker, voice note, document, location...: the assistant reads text."""
        message = update.effective_message
        if message is None:
            return
        user = update.effective_user
        code = user.language_code if user is not None else None
        said = self.engine.text_in(code, "telegram.text_only")
        await self._send(message.chat_id, (Reply(said),))

    # ---- groups -------------------------------------------------------------------------

    async def on_group_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Anything said in a group: the bot talks in private chats only, and says so once."""
        chat = update.effective_chat
        if chat is not None:
            await self._tell_group_once(chat.id)

    async def on_added_to_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot was added to a group: say at once that it answers in private only."""
        change = update.my_chat_member
        if change is None or change.chat.type not in (Chat.GROUP, Chat.SUPERGROUP):
            return
        if change.new_chat_member.status in (
            ChatMemberStatus.MEMBER,
            ChatMemberStatus.ADMINISTRATOR,
        ):
            await self._tell_group_once(change.chat.id)

    async def _tell_group_once(self, chat_id: int) -> None:
        if chat_id in self._groups_told:
            return
        self._groups_told.add(chat_id)
        await self._send(chat_id, (Reply(self.engine.text("telegram.private_only")),))

    # ---- errors -------------------------------------------------------------------------

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log what broke (masked by the log formatter) and apologise; never a traceback."""
        error = context.error
        log.error("handling an update failed: %s", type(error).__name__, exc_info=error)
        if (
            isinstance(update, Update)
            and update.effective_chat is not None
            and (update.effective_chat.type == Chat.PRIVATE)
        ):
            try:
                await self.sender.send_text(
                    update.effective_chat.id, self.engine.text("error.internal")
                )
            except Exception as exc:  # the apology is best effort
                log.warning("could not send the apology: %s", type(exc).__name__)

    # ---- the turn -----------------------------------------------------------------------

    async def _turn(
        self,
        user_id: int,
        *,
        text: str | None = None,
        button: str | None = None,
        source: str | None = None,
        language: str | None = None,
    ) -> tuple[Reply, ...]:
        key = ConversationKey.of(CHANNEL, user_id)
        try:
            result = await self.engine.handle(
                TurnInput(
                    key,
                    self.engine.now(),
                    text=text,
                    button=button,
                    source=source,
                    language=language,
                ),
                receipt=self.receipt(key),
            )
        except TurnNotSaved:
            log.error("a turn of %s could not be saved", user_ref(user_id))
            return (Reply(self.engine.text_in(language, "error.not_saved")),)
        if result.notices_to_push:
            self.push_notices()
        return result.replies

    async def _send(self, chat_id: int, replies: tuple[Reply, ...]) -> None:
        try:
            await self.sender.send_replies(chat_id, replies)
        except DeliveryFailed as exc:
            # The turn is committed; the user sees its state with the next message.
            log.warning("reply to chat %s not delivered: %s", user_ref(chat_id), exc)
