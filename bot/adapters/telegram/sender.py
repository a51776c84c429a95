"""Everything the bot sends goes through `Sender`: replies with inline keyboards, the
answer to a button press, and the removal of a used keyboard.

Telegram's limits are kept in three layers. python-telegram-bot's `AIORateLimiter` (set
up in `app`) keeps the overall and per-group rates and, on a 429 answer, holds every
request for `retry_after` and retries. `Sender` adds what the limiter does not do: pacing
of about one message per second per chat, and retries with exponential backoff when the
network or the Bot API fails. A message that still cannot be sent raises `DeliveryFailed`.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TypeVar

from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import MessageLimit
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.model import Button, Reply

log = logging.getLogger(__name__)

T = TypeVar("T")


class DeliveryFailed(Exception):
    """Telegram did not accept a message. `permanent` when trying again cannot help (the
    user blocked the bot, the chat does not exist)."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """An inline keyboard with one button per row (labels are sentences, not icons)."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data)] for b in buttons]
    )


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """`text` in pieces Telegram accepts, cut at line breaks where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return pieces


class Sender:
    def __init__(
        self,
        bot: Bot,
        *,
        per_chat_interval: float,
        attempts: int,
        backoff: float,
        backoff_max: float,
    ) -> None:
        self.bot = bot
        self.per_chat_interval = per_chat_interval
        self.attempts = attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._next_slot: dict[int, float] = {}

    # ---- what the handlers call ---------------------------------------------------------

    async def send_replies(self, chat_id: int, replies: Sequence[Reply]) -> list[Message]:
        """Send a turn's replies in order; a reply's buttons go with its last piece."""
        sent = []
        for reply in replies:
            pieces = split_text(reply.text)
            for number, piece in enumerate(pieces, start=1):
                markup = keyboard(reply.buttons) if number == len(pieces) else None
                sent.append(await self.send_text(chat_id, piece, markup))
        return sent

    async def send_text(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        await self._pace(chat_id)
        return await self._deliver(
            lambda: self.bot.send_message(chat_id, text, reply_markup=markup)
        )

    async def answer_button(self, query: CallbackQuery) -> None:
        """Stop the client's progress indicator at once. Not retried: an answer that
        arrives late is useless, and the reply that follows tells the user anyway."""
        try:
            await query.answer()
        except TelegramError as exc:
            log.info("could not answer a button press: %s", type(exc).__name__)

    async def remove_keyboard(self, message: Message) -> None:
        """Remove the keyboard of a message whose button was pressed, so it cannot be
        pressed again. A message too old to edit, or already without one, is left as is."""
        if message.reply_markup is None:
            return
        try:
            await self._deliver(lambda: message.edit_reply_markup(reply_markup=None))
        except DeliveryFailed as exc:
            log.info("could not remove a used keyboard: %s", exc)

    # ---- pacing and retries -------------------------------------------------------------

    async def _pace(self, chat_id: int) -> None:
        """Wait for this chat's next sending slot. The slot is reserved before waiting, so
        concurrent senders to one chat (a turn and a notice) queue up behind each other."""
        if self.per_chat_interval <= 0:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_slot.get(chat_id, 0.0))
        self._next_slot[chat_id] = slot + self.per_chat_interval
        if len(self._next_slot) > 10_000:  # forget chats whose slot has long passed
            self._next_slot = {c: t for c, t in self._next_slot.items() if t > now}
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _deliver(self, call: Callable[[], Awaitable[T]]) -> T:
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                return await call()
            except RetryAfter as exc:
                # The rate limiter already waited and retried; this is what is left over.
                if last:
                    raise DeliveryFailed(
                        "flood control: too many 429 answers", permanent=False
                    ) from exc
                wait = _retry_after_seconds(exc)
                log.warning("Telegram asked to wait %.1f s (429); retrying", wait)
                await asyncio.sleep(wait)
            except BadRequest as exc:  # a NetworkError subclass, but never worth retrying
                if "not modified" in exc.message.lower():
                    raise DeliveryFailed("message not modified", permanent=True) from exc
                raise DeliveryFailed(
                    f"Telegram refused the request: {exc.message}", permanent=True
                ) from exc
            except NetworkError as exc:  # includes TimedOut and 5xx answers
                if last:
                    raise DeliveryFailed(f"network error: {exc.message}", permanent=False) from exc
                log.warning(
                    "sending failed (%s: %s); retry %d in %.1f s",
                    type(exc).__name__,
                    exc.message,
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
            except Forbidden as exc:
                raise DeliveryFailed(
                    f"Telegram refused the chat: {exc.message}", permanent=True
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # the int form of retry_after is deprecated in 22.x
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
