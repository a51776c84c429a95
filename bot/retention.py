"""The retention policy (`[retention]` in `config/settings.toml`) applied to a database.

`purge` deletes what the policy says is old enough: the transcript and the transition log
after `transcript_days` / `transition_days`, delivered notices after
`delivered_notice_days`, and conversations nobody wrote in for `idle_conversation_days`.
Undelivered notices, callbacks, appointment requests and the staff log are never touched:
they are work in progress or the service's own record.

Deletes go in batches of `purge_batch_rows`, each one commit through the shared writer with
a short pause after it, so a purge of millions of rows never keeps a turn waiting for more
than one batch. `tierline purge` runs it once; `RetentionJob` runs it inside the bot, at
start and every `purge_every_minutes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import RetentionSettings
from bot.storage.database import Database, StorageError
from bot.storage.ports import Retention
from bot.storage.retention import Expiring

log = logging.getLogger(__name__)

BATCH_PAUSE = 0.01  # seconds between two batches: the writer is free for turns meanwhile


def cutoffs(policy: RetentionSettings, now: datetime) -> dict[Expiring, datetime]:
    """For each kind of data the policy expires, the instant before which it goes (a kind
    kept forever, 0 days, is left out)."""
    days = {
        Expiring.TURNS: policy.transcript_days,
        Expiring.TRANSITIONS: policy.transition_days,
        Expiring.DELIVERED_NOTICES: policy.delivered_notice_days,
        Expiring.IDLE_CONVERSATIONS: policy.idle_conversation_days,
    }
    return {kind: now - timedelta(days=n) for kind, n in days.items() if n > 0}


async def expired(
    retention: Retention, policy: RetentionSettings, now: datetime
) -> dict[Expiring, int]:
    """How many rows of each kind a purge at `now` would delete (changes nothing)."""
    return {
        kind: await retention.count_before(kind, cutoff)
        for kind, cutoff in cutoffs(policy, now).items()
    }


async def purge(
    db: Database,
    retention: Retention,
    policy: RetentionSettings,
    now: datetime,
    *,
    pause: float = BATCH_PAUSE,
    stop: asyncio.Event | None = None,
) -> dict[Expiring, int]:
    """Delete what is older than the policy allows at `now`; return how many rows of each
    kind went. When `stop` is set it returns after the batch in progress. Raises
    `StorageError` when a batch cannot be committed (the batches before it are deleted;
    running it again carries on)."""
    deleted: dict[Expiring, int] = {}
    limit = policy.purge_batch_rows
    for kind, cutoff in cutoffs(policy, now).items():
        deleted[kind] = 0
        while True:
            (count,) = await db.commit([retention.delete_before(kind, cutoff, limit)])
            deleted[kind] += count
            if count < limit:
                break
            if stop is not None and stop.is_set():
                return deleted
            await asyncio.sleep(pause)
    return deleted


class RetentionJob:
    """Runs `purge` inside a long-running process: once at start, then every
    `purge_every_minutes`, until stopped. A failed run is logged and tried again at the
    next interval; it never stops the process."""

    def __init__(
        self, db: Database, retention: Retention, policy: RetentionSettings, clock: Clock
    ) -> None:
        self.db = db
        self.policy = policy
        self.clock = clock
        self.runs = 0  # completed runs (for tests and logs)
        self._retention = retention
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RetentionJob]:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="tierline-retention")
        try:
            yield self
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop; a batch being deleted is finished first (one short commit)."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run_once(self) -> dict[Expiring, int]:
        deleted = await purge(
            self.db, self._retention, self.policy, self.clock.now(), stop=self._stop
        )
        self.runs += 1
        if any(deleted.values()):
            log.info(
                "retention: deleted %s",
                ", ".join(f"{n} {kind.value.replace('_', ' ')}" for kind, n in deleted.items()),
            )
        return deleted

    async def _run(self) -> None:
        interval = self.policy.purge_every_minutes * 60
        while not self._stop.is_set():
            try:
                await self.run_once()
            except StorageError as exc:
                log.error(
                    "retention: purge failed, trying again in %d min: %s", interval // 60, exc
                )
            except Exception:  # a bad run must not end the job, nor the bot
                log.exception("retention: purge failed, trying again in %d min", interval // 60)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval)
