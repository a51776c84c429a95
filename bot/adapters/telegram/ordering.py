"""One chat at a time, many chats at once.

python-telegram-bot processes updates either one by one or all concurrently. Tierline
needs both at once: the updates of one chat must be handled (and answered) in the order
they arrived, while different chats proceed in parallel. `ChatOrderedProcessor` does that
with a FIFO lock per chat; the outbox pusher takes the same lock, so a notice is never sent
in the middle of a turn's replies.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.locks import KeyedLocks


class ChatLocks(KeyedLocks[int]):
    """A FIFO lock per chat id (the engine's lock implementation, keyed by chat)."""


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Processes updates concurrently, except that one chat's updates run one after another.

    The application creates one task per update in arrival order; each task passes the
    concurrency semaphore and then takes its chat's lock, and asyncio's semaphores and locks
    wake their waiters first come first served, so a chat's updates are handled in the order
    Telegram sent them.
    """

    def __init__(self, locks: ChatLocks, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self.locks = locks

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        async with self.locks.hold(chat.id):
            await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
