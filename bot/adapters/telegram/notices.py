"""Pushes the outbox to Telegram: callback confirmations, reminders, outcomes.

Every `notice_poll_seconds` the pusher runs the engine's clock-driven work (`tick`) and
sends the notices that are due: chats in parallel, each chat's oldest first. A notice is
marked delivered only after Telegram accepted it, in its own commit, so after a restart the
undelivered ones go out and none goes out twice (the one gap: a crash between Telegram's
answer and that commit, where the notice is sent again rather than lost).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from bot.adapters.telegram.handlers import CHANNEL, user_ref
from bot.adapters.telegram.ordering import ChatLocks
from bot.adapters.telegram.sender import DeliveryFailed, Sender
from bot.engine.engine import Engine
from bot.storage import outbox
from bot.storage.database import Conflict, StorageError

log = logging.getLogger(__name__)


class NoticePusher:
    def __init__(
        self, engine: Engine, sender: Sender, locks: ChatLocks, *, interval: float
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.locks = locks
        self.interval = interval
        self._given_up: set[int] = set()  # refused for good in this run (blocked bot...)
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="tierline-telegram-notices")

    async def stop(self) -> None:
        """Stop after the round in progress; a notice being sent is finished first."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    def wake(self) -> None:
        """Run a round now instead of at the next interval (a turn just queued a notice,
        such as a callback confirmation, that the applicant is waiting for)."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:  # a bad round must not end the pushing for good
                log.exception("pushing notices failed; trying again in %.0f s", self.interval)
            waits = [
                asyncio.ensure_future(self._stop.wait()),
                asyncio.ensure_future(self._wake.wait()),
            ]
            await asyncio.wait(waits, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()

    async def run_once(self) -> int:
        """Run the clock-driven work, then deliver what is due. Returns how many went out."""
        await self.engine.tick()
        due = await self.engine.services.ports.outbox.due(CHANNEL, self.engine.now())
        by_chat: dict[int, list[outbox.Notice]] = defaultdict(list)
        for notice in due:
            if notice.id in self._given_up:
                continue
            try:
                by_chat[int(notice.key.user_id)].append(notice)
            except ValueError:
                log.error("outbox notice %d has no Telegram user id; skipped", notice.id)
                self._given_up.add(notice.id)
        counts = await asyncio.gather(
            *(self._deliver_chat(chat_id, notices) for chat_id, notices in by_chat.items())
        )
        return sum(counts)

    async def _deliver_chat(self, chat_id: int, notices: list[outbox.Notice]) -> int:
        delivered = 0
        async with self.locks.hold(chat_id):
            for notice in notices:
                try:
                    await self.sender.send_replies(chat_id, (notice.reply,))
                except DeliveryFailed as exc:
                    if exc.permanent:
                        self._given_up.add(notice.id)
                    log.warning(
                        "notice %d (%s) to %s not delivered: %s",
                        notice.id,
                        notice.kind,
                        user_ref(chat_id),
                        exc,
                    )
                    return delivered  # keep this chat's order: the rest waits its turn
                delivered += await self._mark_delivered(notice)
        return delivered

    async def _mark_delivered(self, notice: outbox.Notice) -> int:
        try:
            ports = self.engine.services.ports
            await ports.db.commit([ports.outbox.mark_delivered(notice.id, self.engine.now())])
        except Conflict:
            log.warning("notice %d was already marked delivered", notice.id)
            return 0
        except StorageError as exc:
            # Sent but not recorded: remember it here so this run does not send it again.
            log.error("notice %d sent but not marked delivered: %s", notice.id, exc)
            self._given_up.add(notice.id)
            return 0
        return 1
