"""The requests that carry messages to Telegram, and what their failures mean.

Telegram's limits are kept in layers. python-telegram-bot's `AIORateLimiter` (set up in
`app`) keeps the overall and per-group rates and, on a 429 answer, holds every request for
`retry_after` and retries. `Sender` keeps about one message per second per chat (a chat's
next slot is reserved before the message goes) and sends each message once: whether and
when to try again is the caller's decision, made from what the failure says:

- Telegram answered with an error that trying again cannot fix (the user blocked the bot,
  the chat does not exist): `DeliveryFailed(permanent=True)`;
- the message certainly did not arrive: Telegram answered with an error (5xx, a 429 left
  over), or the connection was never made: `DeliveryFailed()`, safe to send again;
- the message may have arrived: the request went out and no answer came (a read timeout,
  a connection dropped after the request): `DeliveryFailed(uncertain=True)`. Sending it
  again could show the user a second copy, so the callers never do (see
  docs/reliability.md, "Notices per chat").
"""

from __future__ import annotations

import asyncio
import logging
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

import httpcore
import httpx
from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import MessageLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.model import Button, Reply

log = logging.getLogger(__name__)

# Transport failures after which the request certainly never reached Telegram.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class DeliveryFailed(Exception):
    """Telegram did not accept a message. `permanent`: trying again cannot help (the user
    blocked the bot, the chat does not exist). `uncertain`: the request went out and no
    answer came, so the message may have arrived. `retry_after`: Telegram asked to wait."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        uncertain: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.uncertain = uncertain
        self.retry_after = retry_after


# Called as the request of the message being sent leaves for Telegram (once).
_GOING: ContextVar[Callable[[], None] | None] = ContextVar("tierline_going", default=None)


def _going() -> None:
    going = _GOING.get()
    if going is not None:
        _GOING.set(None)
        going()


class RecordingRequest(HTTPXRequest):
    """python-telegram-bot's HTTP transport, which tells the sender the moment a message's
    request leaves, so that "it is on its way" is recorded as late as possible.

    Its connections write each request in one piece and call the hook just before: from
    there to the kernel's write no other task runs, so a process killed after the record
    was written has also handed the whole request over. Where that cannot be arranged (a
    proxy from the environment, an httpx of another shape) the hook is called when the
    request starts, after the rate limiter (`at_socket` is False then)."""

    def __init__(self, *, connection_pool_size: int, read_timeout: float) -> None:
        transport = _recording_transport(connection_pool_size)
        super().__init__(
            connection_pool_size=connection_pool_size,
            read_timeout=read_timeout,
            httpx_kwargs={"transport": transport} if transport is not None else None,
        )
        self.at_socket = transport is not None

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if not self.at_socket:
            _going()
        return await super().do_request(*args, **kwargs)


def _recording_transport(pool_size: int) -> httpx.AsyncHTTPTransport | None:
    proxies = urllib.request.getproxies()
    if any(proxies.get(scheme) for scheme in ("http", "https", "all")):
        return None  # httpx would send through a transport of its own
    transport = httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
    )
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool) or backend is None:
        return None
    pool._network_backend = _RecordingBackend(backend)
    return transport


class _RecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _RecordingStream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _RecordingStream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _RecordingStream(httpcore.AsyncNetworkStream):
    """A connection that writes a request in one piece, when the response is first read
    (httpcore writes the head and the body separately, and lets other tasks run in
    between), calling the hook just before that write."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._pending: list[bytes] = []
        self._write_timeout: float | None = None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if buffer:
            self._pending.append(buffer)
            self._write_timeout = timeout

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        if self._pending:
            request, self._pending = b"".join(self._pending), []
            _going()  # from here to the socket's write, no other task runs
            await self._inner.write(request, self._write_timeout)
        return await self._inner.read(max_bytes, timeout)

    async def aclose(self) -> None:
        self._pending = []  # never written: never sent
        await self._inner.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return _RecordingStream(await self._inner.start_tls(*args, **kwargs))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


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


def failure(exc: TelegramError) -> DeliveryFailed:
    """What a python-telegram-bot error says about the message that was being sent."""
    if isinstance(exc, RetryAfter):
        return DeliveryFailed(
            "flood control: Telegram asked to wait", retry_after=_retry_after_seconds(exc)
        )
    if isinstance(exc, BadRequest | Forbidden | ChatMigrated | InvalidToken):
        return DeliveryFailed(f"Telegram refused the message: {exc.message}", permanent=True)
    if isinstance(exc, NetworkError):  # includes TimedOut
        cause = exc.__cause__
        if isinstance(cause, httpx.HTTPError) and not isinstance(cause, _NEVER_SENT):
            return DeliveryFailed(
                f"no answer from Telegram ({type(cause).__name__})", uncertain=True
            )
        return DeliveryFailed(f"network error: {exc.message}")
    return DeliveryFailed(f"Telegram error: {exc.message}")


class Sender:
    def __init__(self, bot: Bot, *, per_chat_interval: float) -> None:
        self.bot = bot
        self.per_chat_interval = per_chat_interval
        self._next_slot: dict[int, float] = {}

    # ---- messages -----------------------------------------------------------------------

    async def send_reply(
        self, chat_id: int, reply: Reply, *, going: Callable[[], None] | None = None
    ) -> None:
        """Send one reply (in pieces if it is long; its buttons go with the last piece),
        each piece once; `going` is called as the first request leaves (see
        `RecordingRequest`). A failure after
        a piece went out is reported as uncertain: the reply cannot be sent again without
        repeating that piece."""
        pieces = split_text(reply.text)
        for number, piece in enumerate(pieces, start=1):
            markup = keyboard(reply.buttons) if number == len(pieces) else None
            await self._pace(chat_id)
            token = _GOING.set(going if number == 1 else None)
            try:
                await self.bot.send_message(chat_id, piece, reply_markup=markup)
            except TelegramError as exc:
                failed = failure(exc)
                if number > 1:
                    failed.uncertain = True
                raise failed from exc
            finally:
                _GOING.reset(token)

    async def send_replies(self, chat_id: int, replies: Sequence[Reply]) -> None:
        """Send replies in order, each once (see `send_reply`)."""
        for reply in replies:
            await self.send_reply(chat_id, reply)

    async def send_text(self, chat_id: int, text: str) -> None:
        await self.send_replies(chat_id, (Reply(text),))

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
            await message.edit_reply_markup(reply_markup=None)
        except TelegramError as exc:
            log.info("could not remove a used keyboard: %s", failure(exc))

    # ---- pacing -------------------------------------------------------------------------

    def wait_before(self, chat_id: int) -> float:
        """Seconds until this chat's next sending slot (0: a message may go now)."""
        if self.per_chat_interval <= 0:
            return 0.0
        now = asyncio.get_running_loop().time()
        return max(0.0, self._next_slot.get(chat_id, 0.0) - now)

    async def _pace(self, chat_id: int) -> None:
        """Wait for this chat's next sending slot. The slot is reserved before waiting, so
        concurrent senders to one chat queue up behind each other."""
        if self.per_chat_interval <= 0:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_slot.get(chat_id, 0.0))
        self._next_slot[chat_id] = slot + self.per_chat_interval
        if len(self._next_slot) > 10_000:  # forget chats whose slot has long passed
            self._next_slot = {c: t for c, t in self._next_slot.items() if t > now}
        if slot > now:
            await asyncio.sleep(slot - now)


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # the int form of retry_after is deprecated in 22.x
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def reply_to(sender: Sender, update: Any, text: str) -> None:
    """Answer a staff member's command in their chat; a failed send is logged, not raised
    (the command's work is already saved)."""
    message = update.effective_message
    if message is None:
        return
    try:
        await sender.send_replies(message.chat_id, (Reply(text),))
    except DeliveryFailed as exc:
        log.warning("staff reply not delivered: %s", exc)
