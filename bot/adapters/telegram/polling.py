"""Long polling that confirms an update only once it is stored.

getUpdates confirms every update below the `offset` it is called with. python-telegram-bot's
`Updater` asks for the next batch as soon as it has queued the last one in memory, so a
crash loses what it had fetched; and it parses a whole batch at once, so one update it
cannot read fails the batch, which it fetches again in a tight loop. `Poller` asks for the
updates as JSON, has the inbox store them (and skip what cannot be read), and only then
moves the offset past them. It also fetches no more while `max_pending_updates` wait to
be handled: what Telegram keeps for the bot costs nothing here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Bot
from telegram.error import Conflict, InvalidToken, TelegramError

from bot.adapters.telegram.inbox import UpdateInbox
from bot.storage.database import StorageError

log = logging.getLogger(__name__)

BATCH = 100  # Telegram's most per getUpdates


class Poller:
    def __init__(
        self,
        bot: Bot,
        inbox: UpdateInbox,
        *,
        timeout: int,
        allowed_updates: Sequence[str],
        backoff: float,
        backoff_max: float,
    ) -> None:
        self.bot = bot
        self.inbox = inbox
        self.timeout = timeout
        self.allowed_updates = list(allowed_updates)
        self.backoff = max(backoff, 0.05)
        self.backoff_max = max(backoff_max, self.backoff)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._storing = False  # not cut while storing: what is stored is also queued
        self.offset = 0

    async def start(self) -> None:
        # Long polling and a webhook exclude each other; keep the pending updates.
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._run(), name="tierline-telegram-polling")

    async def stop(self) -> None:
        """Stop at once: a long poll in flight is abandoned (it confirmed nothing new);
        updates being stored are stored and queued first."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            if not self._storing:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        delay = self.backoff
        while not self._stopping:
            await self.inbox.room()
            try:
                updates = await self._fetch()
                self._storing = True
                try:
                    await self.inbox.accept(updates)
                finally:
                    self._storing = False
            except (TelegramError, StorageError) as exc:
                self._report(exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            delay = self.backoff
            ids = [u["update_id"] for u in updates if _has_id(u)]
            if ids:
                self.offset = max(self.offset, max(ids) + 1)  # confirmed by the next call

    async def _fetch(self) -> list[Any]:
        """The next updates as JSON (python-telegram-bot's `get_updates` would parse them,
        failing the whole batch for one it cannot read)."""
        data = {
            "offset": self.offset or None,
            "limit": BATCH,
            "timeout": self.timeout,
            "allowed_updates": self.allowed_updates,
        }
        result = await self.bot._post("getUpdates", data, read_timeout=self.timeout + 10)
        if not isinstance(result, list):
            raise TelegramError("getUpdates did not answer with a list")
        return result

    def _report(self, exc: Exception, delay: float) -> None:
        if isinstance(exc, InvalidToken):
            log.error("Telegram refused the token while polling; trying again in %.0f s", delay)
        elif isinstance(exc, Conflict):
            log.error(
                "another bot instance (or a webhook) takes this bot's updates: %s; "
                "trying again in %.0f s",
                exc.message,
                delay,
            )
        elif isinstance(exc, StorageError):
            log.error("updates could not be stored (%s); fetching them again in %.1f s", exc, delay)
        else:
            log.warning("getUpdates failed (%s); trying again in %.1f s", exc, delay)


def _has_id(update: Any) -> bool:
    value = update.get("update_id") if isinstance(update, dict) else None
    return isinstance(value, int) and not isinstance(value, bool)
