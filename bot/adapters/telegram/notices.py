"""Sends the outbox to Telegram, chat by chat: turn replies, callback confirmations,
reminders, outcomes.

`Deliverer.deliver(chat)` is a step of one chat (see `ordering`): it sends that chat's due
messages, oldest first. Just before a message's request goes out it is recorded in the
sending journal (`bot.storage.sending`); once Telegram accepted it, it is marked delivered.
When Telegram certainly did not take it (an error answer, no connection) it stays due and
the chat backs off, alone, for `network_backoff_seconds`, doubling up to
`network_backoff_max_seconds`; the other chats go on. When it may have arrived (the
request went out and no answer came in time, or the process died meanwhile) it is marked
attempted and never sent again, and the chat backs off too: a message is not shown twice,
at the price of one that may be missing (the Bot API carries out a request it received
even when its answer is late, so it most likely arrived; the log says so, see
docs/reliability.md).

Replicas (webhook processes on one PostgreSQL database, `claims`): a process's own
journal cannot stop another replica from sending what a dead one had on its way, so each
message is claimed in the database before its request goes out (`Outbox.claim`, marking
it attempted; `FOR UPDATE SKIP LOCKED`): one replica sends it, and once. Accepted, it is
marked delivered; certainly not sent, its claim is cleared and it is due again; anything
else (no answer, the replica died) leaves it attempted, never sent again, the same rule
as above with the database naming those messages. A chat's messages are sent by the
replica that holds the chat (see `app`), so they keep their order.

`NoticePusher` runs every `notice_poll_seconds`, or at once when woken (a turn or a staff
command queued a notice someone is waiting for): it runs the clock-driven work (`tick`)
and hands every chat with something due to the chats' scheduler. Among replicas, one at a
time runs the clock-driven work (`Database.exclusive`); the others skip that round's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from bot.adapters.telegram.handlers import user_ref
from bot.adapters.telegram.sender import DeliveryFailed, Sender
from bot.engine.engine import Engine
from bot.model import TELEGRAM
from bot.storage.database import Conflict, StorageError, Write
from bot.storage.ports import Outbox
from bot.storage.sending import SendingJournal

log = logging.getLogger(__name__)

BATCH = 20  # messages read per step of a chat
INBOX_KEPT = timedelta(hours=48)  # done updates remembered (Telegram keeps them 24 h)
PRUNE_EVERY = 3600.0  # seconds


class _Journal:
    """One process sending: what is on its way is kept in its sending journal, and an
    outcome is committed to the outbox once known (see the module docstring)."""

    def __init__(self, deliverer: Deliverer) -> None:
        self.deliverer = deliverer
        self.journal = deliverer.journal

    def passed(self, notice_id: int) -> bool:
        return self.journal.is_on_the_way(notice_id)  # sent, outcome not saved: never again

    async def take(self, notice_id: int) -> bool:
        return True

    def going(self, notice_id: int) -> Callable[[], None]:
        return partial(self.journal.sending, notice_id)

    def went_out(self, notice_id: int) -> bool:
        return self.journal.is_on_the_way(notice_id)

    async def gone(self, notice_id: int) -> None:
        await self.deliverer._settle(notice_id, self.deliverer.outbox.mark_attempted)

    async def not_sent(self, notice_id: int) -> None:
        if self.journal.is_on_the_way(notice_id):
            self.journal.not_sent(notice_id)

    async def delivered(self, notice_id: int) -> None:
        await self.deliverer._settle(notice_id, self.deliverer.outbox.mark_delivered)


class _Claims:
    """Replicas sending: each message is claimed in the database (marked attempted)
    before its request goes out, so one replica sends it (see the module docstring)."""

    def __init__(self, deliverer: Deliverer) -> None:
        self.deliverer = deliverer
        self._out: set[int] = set()  # claimed and on its way now

    def passed(self, notice_id: int) -> bool:
        return False  # a message claimed before is no longer due

    async def take(self, notice_id: int) -> bool:
        """Claim it; False when another replica did first. Raises `StorageError`."""
        deliverer = self.deliverer
        (claimed,) = await deliverer.commit(deliverer.outbox.claim(notice_id, deliverer.now()))
        return bool(claimed)

    def going(self, notice_id: int) -> Callable[[], None]:
        return partial(self._out.add, notice_id)

    def went_out(self, notice_id: int) -> bool:
        return notice_id in self._out

    async def gone(self, notice_id: int) -> None:
        self._out.discard(notice_id)  # claimed is attempted already: never sent again

    async def not_sent(self, notice_id: int) -> None:
        """Certainly not sent: the claim is cleared, and it is due again."""
        self._out.discard(notice_id)
        try:
            await self.deliverer.commit(self.deliverer.outbox.clear_attempt(notice_id))
        except StorageError as exc:  # it stays attempted: missing rather than twice
            log.error("message %d could not be made due again: %s", notice_id, exc)

    async def delivered(self, notice_id: int) -> None:
        self._out.discard(notice_id)
        try:
            deliverer = self.deliverer
            await deliverer.commit(deliverer.outbox.mark_delivered(notice_id, deliverer.now()))
        except StorageError as exc:  # it stays attempted: not sent again
            log.error("the outcome of message %d was not saved: %s", notice_id, exc)


class Deliverer:
    def __init__(
        self,
        engine: Engine,
        sender: Sender,
        journal: SendingJournal,
        *,
        backoff: float,
        backoff_max: float,
        claims: bool = False,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.journal = journal
        self.backoff = backoff
        self.backoff_max = backoff_max
        # Where a message's fate is kept while it is sent: this process's journal, or
        # (replicas) a claim in the database.
        self._ledger: _Journal | _Claims = _Claims(self) if claims else _Journal(self)
        self._failures: dict[int, int] = {}  # chats failing now: how many times in a row

    @property
    def outbox(self) -> Outbox:
        return self.engine.services.ports.outbox

    def now(self) -> datetime:
        return self.engine.now()

    async def commit(self, write: Write) -> list[int]:
        """Commit one write about a message; a `Conflict` is a `StorageError` here."""
        try:
            return await self.engine.services.ports.db.commit([write])
        except Conflict as exc:
            raise StorageError(str(exc)) from None

    async def deliver(self, chat: int) -> float | None:
        """Send what is due for `chat`. None when nothing is left; else the loop time
        before which the chat should not run again (its backoff, its pacing slot, or now
        when there is more to send)."""
        loop = asyncio.get_running_loop()
        ledger = self._ledger
        due = await self.outbox.due(TELEGRAM, self.engine.now(), user_id=str(chat), limit=BATCH)
        for notice in due:
            if ledger.passed(notice.id):
                continue
            wait = self.sender.wait_before(chat)
            if wait > 0:
                return loop.time() + wait
            try:
                if not await ledger.take(notice.id):
                    continue  # another replica took it, or it was settled meanwhile
            except StorageError as exc:
                log.warning("message %d could not be claimed (%s); the chat waits", notice.id, exc)
                return self._back_off(chat, None)
            try:
                await self.sender.send_reply(chat, notice.reply, going=ledger.going(notice.id))
            except DeliveryFailed as exc:
                where = f"message {notice.id} ({notice.kind}) to {user_ref(chat)}"
                if exc.permanent:
                    log.warning("%s refused: %s; not sent again", where, exc)
                    await ledger.gone(notice.id)
                    continue
                if exc.uncertain:
                    log.warning("%s may have arrived (%s); not sent again", where, exc)
                    await ledger.gone(notice.id)
                else:
                    log.warning("%s not delivered (%s); the chat waits", where, exc)
                    await ledger.not_sent(notice.id)
                return self._back_off(chat, exc.retry_after)
            except Exception:  # not an answer of Telegram's: a bug somewhere below
                log.exception("sending message %d failed", notice.id)
                if ledger.went_out(notice.id):  # its request went out
                    await ledger.gone(notice.id)
                else:
                    await ledger.not_sent(notice.id)
                return self._back_off(chat, None)
            self._failures.pop(chat, None)
            await ledger.delivered(notice.id)
        if len(due) == BATCH:
            return loop.time()
        return None

    async def _settle(self, notice_id: int, mark: Callable[[int, datetime], Write]) -> None:
        """Commit what became of a message; then its journal line is no longer needed."""
        try:
            await self.engine.services.ports.db.commit([mark(notice_id, self.engine.now())])
        except Conflict:
            pass  # marked already
        except StorageError as exc:  # the journal keeps it: it is not sent again
            log.error("the outcome of message %d was not saved: %s", notice_id, exc)
            return
        self.journal.settled(notice_id)

    async def recover(self) -> int:
        """Mark what was on its way when the last run ended as attempted (it may have
        arrived: it is not sent again); returns how many. Call before sending anything."""
        marked = await self._mark_on_the_way(self.journal.replay())
        if marked:
            log.warning(
                "the last run ended while %d message(s) were being sent; they may have "
                "arrived and are not sent again",
                marked,
            )
        return marked

    async def close(self) -> None:
        """Record what is still on its way (cut by the shutdown) and close the journal."""
        try:
            cut = await self._mark_on_the_way(self.journal.on_the_way)
        except StorageError as exc:
            log.error("the sending journal is kept for the next start: %s", exc)
        else:
            if cut:
                log.warning("stopping: %d message(s) cut while being sent are not sent again", cut)
        self.journal.close()

    async def _mark_on_the_way(self, ids: set[int]) -> int:
        """Mark `ids` attempted, then clear the journal; how many were not settled yet."""
        marked = 0
        if ids:
            ports = self.engine.services.ports
            now = self.engine.now()
            counts = await ports.db.commit([ports.outbox.mark_attempted(n, now) for n in ids])
            marked = sum(counts)
        self.journal.clear()
        return marked

    def _back_off(self, chat: int, at_least: float | None) -> float:
        failures = self._failures.get(chat, 0) + 1
        self._failures[chat] = failures
        if len(self._failures) > 100_000:  # forget the oldest failing chats
            for old in list(self._failures)[:50_000]:
                del self._failures[old]
        delay = min(self.backoff * 2 ** (failures - 1), self.backoff_max)
        delay = max(delay, at_least or 0.0)
        return asyncio.get_running_loop().time() + delay


class NoticePusher:
    def __init__(
        self,
        engine: Engine,
        on_due: Callable[[int], None],
        *,
        interval: float,
        shared: bool = False,
    ) -> None:
        self.engine = engine
        self.on_due = on_due  # hands a chat with something due to the scheduler
        self.interval = interval
        self.shared = shared  # replicas: one runs the clock-driven work at a time
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._bad_ids: set[str] = set()
        self._pruned_at: float | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="tierline-telegram-notices")

    async def stop(self, grace: float) -> None:
        """Stop after the round in progress, or cut it after `grace` seconds."""
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        _, late = await asyncio.wait({task}, timeout=max(grace, 0))
        for cut in late:
            cut.cancel()
        await asyncio.gather(task, return_exceptions=True)

    def wake(self) -> None:
        """Run a round now instead of at the next interval (a turn just queued a notice,
        such as a callback confirmation, that the applicant is waiting for)."""
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        ticked = loop.time()  # `run` ran a round just before this task started
        while not self._stop.is_set():
            self._wake.clear()
            # Among replicas every notice queued anywhere wakes every pusher: a round woken
            # so hands the chats over, and the clock-driven work waits for its interval.
            tick = not self.shared or loop.time() - ticked >= self.interval
            if tick:
                ticked = loop.time()
            try:
                await self.run_once(tick=tick)
            except Exception:  # a bad round must not end the pushing for good
                log.exception("pushing notices failed; trying again in %.0f s", self.interval)
            waits = [
                asyncio.ensure_future(self._stop.wait()),
                asyncio.ensure_future(self._wake.wait()),
            ]
            await asyncio.wait(waits, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
            for waiting in waits:
                waiting.cancel()

    async def run_once(self, *, tick: bool = True) -> int:
        """Run the clock-driven work (unless not `tick`), then hand over every chat with
        something due. Returns how many chats were handed over."""
        if tick:
            # One process at a time (a replica among several; alone, always this one).
            async with self.engine.services.ports.db.exclusive("telegram-clock") as mine:
                if mine:  # else another replica runs this round's clock-driven work
                    await self.engine.tick()
                    await self._prune()
        users = await self.engine.services.ports.outbox.due_users(TELEGRAM, self.engine.now())
        handed = 0
        for user_id in users:
            try:
                chat = int(user_id)
            except ValueError:
                if user_id not in self._bad_ids:
                    self._bad_ids.add(user_id)
                    log.error("outbox notices for a user without a Telegram id; skipped")
                continue
            self.on_due(chat)
            handed += 1
        return handed

    async def _prune(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        ports = self.engine.services.ports
        try:
            await ports.db.commit([ports.telegram_inbox.prune(self.engine.now() - INBOX_KEPT)])
        except StorageError as exc:
            log.warning("could not prune the Telegram inbox: %s", exc)
