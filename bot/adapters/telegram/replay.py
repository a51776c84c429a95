"""A scenario replayed through the real Telegram adapter: python-telegram-bot polling the
fake Bot API on 127.0.0.1 (bot/adapters/telegram/fake_api.py), on the scenario's engine.

Each applicant is a Telegram user (ids from 1001, in the order they first speak; the
scenario's language is their `language_code`). A step's input is an update; its result is
every message the bot sent that chat since the step before (its answer, and any notice it
pushed), once the update is done in the durable inbox and no notice is due for the chat,
with the state the conversation is in then.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from bot.adapters.telegram.fake_api import TOKEN, FakeBotApi, Sent
from bot.model import TELEGRAM, Button, ConversationKey, Reply, TurnResult
from bot.trainer.drivers import DriverError
from flows.machine import tier_of

if TYPE_CHECKING:
    from bot.adapters.telegram.app import TelegramBot
    from bot.config import Settings
    from bot.engine.engine import Engine

FIRST_USER_ID = 1001
WAIT_SECONDS = 15.0


class TelegramDriver:
    def __init__(self, engine: Engine, settings: Settings, language: str | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.language = language
        self.api: FakeBotApi | None = None
        self._bot: TelegramBot | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ids: dict[str, int] = {}
        self._seen: dict[int, int] = {}  # chat id -> messages already reported
        self._buttons: dict[str, tuple[Button, ...]] = {}

    def key(self, user: str) -> ConversationKey:
        return ConversationKey.of(TELEGRAM, self._id(user))

    def _id(self, user: str) -> int:
        if user not in self._ids:
            self._ids[user] = FIRST_USER_ID + len(self._ids)
            if self.language and self.api is not None:
                self.api.language_codes[self._ids[user]] = self.language
        return self._ids[user]

    async def _start(self) -> FakeBotApi:
        if self.api is not None:
            return self.api
        from bot.adapters.telegram.app import TelegramBot
        from bot.config import TelegramSettings

        self.api = FakeBotApi().start()
        for user_id in self._ids.values():
            if self.language:
                self.api.language_codes[user_id] = self.language
        quick = TelegramSettings(
            base_url=self.api.base_url,
            per_chat_interval_seconds=0,
            poll_timeout=1,
            notice_poll_seconds=0.05,
            network_backoff_seconds=0.05,
            network_backoff_max_seconds=0.2,
        )
        settings = self.settings.model_copy(update={"telegram": quick})
        self._bot = TelegramBot(self.engine, settings, TOKEN)
        self._task = asyncio.create_task(self._bot.run(self._stop))
        ready = asyncio.create_task(self._bot.ready.wait())
        await asyncio.wait({self._task, ready}, timeout=WAIT_SECONDS, return_when="FIRST_COMPLETED")
        if not self._bot.ready.is_set():
            ready.cancel()
            raise DriverError("the Telegram adapter did not start against the fake Bot API")
        return self.api

    async def send(
        self, user: str, *, text: str | None = None, button: str | None = None
    ) -> TurnResult:
        api = await self._start()
        chat = self._id(user)
        # The scenario's clock may have jumped: the bot's own ticker would have done the
        # clock's work by the time a person types again (as the console does per turn).
        await self.engine.tick()
        await self._settled(chat)  # notices pushed since its last step belong to this one
        if button is None:
            update = api.user_sends(chat, text or "")
        else:
            message = self._message_with(chat, button)
            if message is None:
                raise DriverError(f"{user} has no message to press {button!r} on")
            update = api.user_presses(chat, message.message_id, button)
        await self._done(update["update_id"], chat)
        sent = api.messages(chat)
        new = sent[self._seen.get(chat, 0) :]
        self._seen[chat] = len(sent)
        state = await self.engine.state_of(self.key(user))
        replies = tuple(
            Reply(m.text, tuple(Button(label, data) for label, data in m.buttons)) for m in new
        )
        result = TurnResult(state, tier_of(state), replies)
        buttons = tuple(b for r in replies for b in r.buttons)
        if buttons:
            self._buttons[user] = buttons
        return result

    def _message_with(self, chat: int, data: str) -> Sent | None:
        assert self.api is not None
        for message in reversed(self.api.messages(chat)):
            if any(d == data for _label, d in message.buttons):
                return message
        # Data no keyboard shows (a stale or forged press): on the latest message.
        messages = self.api.messages(chat)
        return messages[-1] if messages else None

    async def _done(self, update_id: int, chat: int) -> None:
        """Until the update is stored and done, its answer sent, and nothing is due."""
        inbox = self.engine.services.ports.telegram_inbox
        assert self.api is not None
        before = self._seen.get(chat, 0)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            pending = {u.update_id for u in await inbox.open_updates()}
            received = self.api.confirmed_offset > update_id  # stored before confirmed
            if received and update_id not in pending and len(self.api.messages(chat)) > before:
                break
            if time.monotonic() > deadline:
                raise DriverError(f"the bot did not answer update {update_id} in time")
            await asyncio.sleep(0.01)
        await self._settled(chat)

    async def _settled(self, chat: int) -> None:
        """Until no notice is due for `chat` (the bot pushes due notices on its own)."""
        outbox = self.engine.services.ports.outbox
        deadline = time.monotonic() + WAIT_SECONDS
        while str(chat) in await outbox.due_users(TELEGRAM, self.engine.now()):
            if time.monotonic() > deadline:
                raise DriverError(f"a notice for chat {chat} was not sent in time")
            await asyncio.sleep(0.01)

    def buttons(self, user: str) -> tuple[Button, ...]:
        return self._buttons.get(user, ())

    async def close(self) -> None:
        if self._task is not None:
            self._stop.set()
            await asyncio.wait_for(self._task, WAIT_SECONDS)
        if self.api is not None:
            self.api.stop()
