"""One chat at a time, many chats at once.

python-telegram-bot processes updates either one by one or all concurrently. Tierline
needs both at once: the updates of one chat must be handled (and answered) in the order
they arrived, while different chats proceed in parallel. `ChatOrderedProcessor` does that
with a FIFO lock per chat; the outbox pusher takes the same lock, so a notice is never sent
in the middle of a turn's replies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class ChatLocks:
    """A FIFO lock per chat id, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        entry = self._locks.get(chat_id)
        if entry is None:
            entry = self._locks[chat_id] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[chat_id]

    def __len__(self) -> int:
        return len(self._locks)


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
