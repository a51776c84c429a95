"""The durable inbox: no update Telegram handed over is lost, none is handled twice.

Telegram forgets an update once the bot confirms it (the next getUpdates carries a higher
offset; in webhook mode, the 200 answer). So an update is stored in the inbox
(`bot/storage/inbox.py`) *before* it is confirmed (`UpdateInbox.accept`), and it is marked
done in the same commit as its turn, where its replies are queued in the outbox for the
chat (`Engine.handle(receipt=...)`, see `QueuingSender.receipt`). An update that makes no
turn (a photo, a group, a staff command) is marked done with its replies, or on its own
after its handler. At start, the updates stored and not done are handled first
(`recover`), in order per chat; an update fetched again that is already stored, open or
done, is ignored (the update id is the key).

An update python-telegram-bot cannot read is skipped: one warning naming only its id and
the error (the update may carry names and texts), stored as done, and confirmed.

Handlers do not send their replies themselves while an update is handled: `QueuingSender`
queues them in the outbox, and the chat's next step sends them (`notices.Deliverer`), so
a reply committed before a crash is sent after the restart.

Replicas (`shared`: webhook processes on one PostgreSQL database behind a load balancer)
keep nothing of a chat's updates in memory: the inbox in the database is the queue. A
replica learns that a chat has work when it stores one of its updates, when another
replica does (`heard`, through the database's notifications) and from a sweep every
`replica_sweep_seconds` (an update that stays its chat's oldest open one over two sweeps
in a row was left by a replica that died, or was never heard of). The chat's step then
holds the chat across processes (`Database.try_hold`: a replica that cannot, because
another one holds the chat now, leaves it to that one, which hears of every update as
well and goes on until the chat has none left) and, under that lock,
`handle_shared` handles the chat's oldest open update, whose done mark commits with its
turn on the connection that holds the lock. So a chat's updates are handled one at a
time, oldest first, each once, whichever replica stored them.

Order is that of the update ids among the updates stored at the moment one is taken; an
update is taken no sooner than `replica_settle_seconds` after the replica heard it was
stored. So an update of a chat stored up to that long after a later one of the same chat
(Telegram posting both at once to two replicas) is still handled first; one stored later
than that is handled late, after the later one (the log says so).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Any

from msgspec import Struct, field
from telegram import Bot, Update
from telegram.ext import Application

from bot.adapters.telegram.sender import Sender
from bot.engine.engine import Engine, Receipt
from bot.model import TELEGRAM, ConversationKey, Reply
from bot.storage.database import StorageError, Write
from bot.storage.inbox import InboxUpdate

log = logging.getLogger(__name__)

REPLY_KIND = "reply"  # the outbox kind of a turn's replies on Telegram


class Handling(Struct):
    """The update being handled in this task, and what its handler did with it."""

    update_id: int
    turn_replies: tuple[Reply, ...] | None = None  # given to the turn's receipt
    done: bool = False  # the update's done mark is committed
    chats: set[int] = field(default_factory=set)  # chats it queued replies for


CURRENT: ContextVar[Handling | None] = ContextVar("tierline_telegram_update", default=None)


def chat_of(update: Update) -> int:
    """The chat whose order an update keeps: its chat, else its user, else 0."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return 0


class UpdateInbox:
    def __init__(
        self,
        engine: Engine,
        application: Application[Any, Any, Any, Any, Any, Any],
        poke: Callable[[int], None],
        *,
        max_waiting: int,
        shared: bool = False,
        settle: float = 0.0,
        sweep_every: float = 2.0,
    ) -> None:
        self.engine = engine
        self.application = application
        self.poke = poke  # tells the chat scheduler a chat has work
        self.max_waiting = max_waiting
        self._waiting: dict[int, deque[tuple[int, Update]]] = {}
        self._count = 0
        self._room = asyncio.Event()
        self._room.set()
        # Replicas: the database's inbox is the queue (see the module docstring).
        self.shared = shared
        self.settle = settle
        self.sweep_every = sweep_every
        self._pending: set[int] = set()  # chats that may have open updates
        self._heard: dict[int, dict[int, float]] = {}  # chat: update id: loop time heard
        self._swept: dict[int, int] = {}  # chat: its oldest open update at the last sweep
        self._latest: dict[int, int] = {}  # chat: the newest update handled here
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def bot(self) -> Bot:
        return self.application.bot

    @property
    def waiting_count(self) -> int:
        """Updates received and not yet handled (replicas: chats that may have some)."""
        return len(self._pending) if self.shared else self._count

    def waiting(self, chat: int) -> bool:
        return chat in (self._pending if self.shared else self._waiting)

    async def room(self) -> None:
        """Wait until fewer than `max_waiting` updates wait to be handled (the poller asks
        Telegram for more only then: what Telegram keeps costs no memory here)."""
        await self._room.wait()

    # ---- taking updates in ----------------------------------------------------------------

    async def accept(self, raw_updates: Sequence[Any]) -> None:
        """Store the updates Telegram sent (as JSON objects), then queue the new ones.
        Raises `StorageError` when they could not be stored: then they must not be
        confirmed, and Telegram sends them again."""
        ports = self.engine.services.ports
        now = self.engine.now()
        writes: list[Write] = []
        readable: list[tuple[int, Update | None, Exception | None]] = []
        for raw in raw_updates:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                log.warning("an update without an update id was ignored")
                continue
            try:
                update = self._parse(raw)
            except Exception as exc:
                writes.append(ports.telegram_inbox.skip(update_id, now))
                readable.append((update_id, None, exc))
                continue
            # Escaped as ASCII: a lone surrogate Telegram may send ("\ud800") stays an
            # escape in the stored text instead of a value SQLite cannot bind.
            payload = json.dumps(raw)
            writes.append(ports.telegram_inbox.receive(update_id, chat_of(update), payload, now))
            readable.append((update_id, update, None))
        if not writes:
            return
        counts = await ports.db.commit(writes)
        for (update_id, parsed, error), count in zip(readable, counts, strict=True):
            if count == 0:
                continue  # known already: handled, or waiting to be
            if parsed is None:
                log.warning(
                    "update %d could not be read (%s); skipped", update_id, type(error).__name__
                )
            elif self.shared:
                self.heard(chat_of(parsed), update_id)
            else:
                self._enqueue(update_id, parsed)

    async def recover(self) -> int:
        """Queue the updates stored and not done before the last stop (before any new one
        is fetched); returns how many. Replicas: the chats with open updates, whoever
        stored them, are handed to the scheduler (their lock keeps them safe)."""
        ports = self.engine.services.ports
        if self.shared:
            open_chats = await ports.telegram_inbox.open_chats()
            for chat, first in open_chats.items():
                self.heard(chat, first)  # it may have been stored just now: it settles
            self._swept = open_chats
            if open_chats:
                log.info("%d chat(s) with updates stored and not handled", len(open_chats))
            return len(open_chats)
        stored = await ports.telegram_inbox.open_updates()
        unreadable: list[Write] = []
        for entry in stored:
            update = self._stored(entry)
            if update is None:
                unreadable.append(ports.telegram_inbox.done(entry.update_id, self.engine.now()))
            else:
                self._enqueue(entry.update_id, update)
        if unreadable:
            await ports.db.commit(unreadable)
        if stored:
            log.info("%d update(s) stored before the last stop are handled first", len(stored))
        return len(stored) - len(unreadable)

    def _stored(self, entry: InboxUpdate) -> Update | None:
        """A stored update as python-telegram-bot reads it; None (logged) when it cannot be
        read, so that it is marked done and skipped."""
        try:
            return self._parse(json.loads(entry.payload))
        except Exception as exc:
            log.warning(
                "stored update %d could not be read (%s); skipped",
                entry.update_id,
                type(exc).__name__,
            )
            return None

    def _parse(self, raw: Any) -> Update:
        if not isinstance(raw, dict):
            raise TypeError("an update is a JSON object")
        update = Update.de_json(raw, self.bot)
        if update is None:
            raise ValueError("empty update")
        return update

    def _enqueue(self, update_id: int, update: Update) -> None:
        chat = chat_of(update)
        self._waiting.setdefault(chat, deque()).append((update_id, update))
        self._count += 1
        if self._count >= self.max_waiting:
            self._room.clear()
        self.poke(chat)

    # ---- replicas: learning of work ---------------------------------------------------------

    def heard(self, chat: int, update_id: int) -> None:
        """An update of `chat` was stored (here, or by another replica): the chat has work,
        to be taken no sooner than `settle` seconds from now."""
        heard = self._heard.setdefault(chat, {})
        heard.setdefault(update_id, asyncio.get_running_loop().time())
        self._pending.add(chat)
        self.poke(chat)

    def leave(self, chat: int) -> None:
        """Another replica holds `chat` now: its work is that replica's (see `app`)."""
        self._pending.discard(chat)
        self._heard.pop(chat, None)

    def start_sweeping(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="tierline-telegram-inbox-sweep")

    async def stop_sweeping(self) -> None:
        task, self._sweeper = self._sweeper, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            try:
                await self.sweep()
            except StorageError as exc:
                log.warning("looking for updates left open failed: %s", exc)

    async def sweep(self) -> int:
        """Hand over the chats whose oldest open update was already their oldest at the
        last sweep and that nothing here is handling; returns how many."""
        open_chats = await self.engine.services.ports.telegram_inbox.open_chats()
        taken = 0
        for chat, first in open_chats.items():
            if self._swept.get(chat) == first and chat not in self._pending:
                self._pending.add(chat)
                self.poke(chat)
                taken += 1
        self._swept = open_chats
        if taken:
            log.info("%d chat(s) with updates left open taken over", taken)
        return taken

    # ---- handling -----------------------------------------------------------------------

    async def handle_shared(self, chat: int) -> set[int] | float:
        """Replicas: handle the chat's oldest open update, stored by any replica. Call it
        holding the chat (`Database.try_hold`). Returns the chats it queued replies for,
        or the loop time before which the update must not be taken (it settles); when the
        chat has no open update left, it is no longer pending."""
        loop = asyncio.get_running_loop()
        ports = self.engine.services.ports
        entry = await ports.telegram_inbox.oldest_open(chat)
        heard = self._heard.get(chat, {})
        if entry is None:
            self._pending.discard(chat)
            self._heard.pop(chat, None)
            return set()
        for older in [n for n in heard if n < entry.update_id]:
            del heard[older]  # handled (here or by another replica)
        at = heard.get(entry.update_id)
        if at is not None and loop.time() < at + self.settle:
            return at + self.settle
        heard.pop(entry.update_id, None)
        if not heard:
            self._heard.pop(chat, None)
        latest = self._latest.get(chat)
        if latest is not None and entry.update_id < latest:
            log.warning("update %d came late: handled after a later one", entry.update_id)
        self._latest[chat] = entry.update_id
        if len(self._latest) > 100_000:  # forget the oldest chats
            for old in list(self._latest)[:50_000]:
                del self._latest[old]
        update = self._stored(entry)
        if update is None:
            await ports.db.commit([ports.telegram_inbox.done(entry.update_id, self.engine.now())])
            return set()
        return await self._process(entry.update_id, update)

    async def handle_next(self, chat: int) -> set[int]:
        """Handle the chat's oldest waiting update with the application's handlers; return
        the chats it queued replies for."""
        queue = self._waiting[chat]
        update_id, update = queue.popleft()
        if not queue:
            del self._waiting[chat]
        self._count -= 1
        if self._count < self.max_waiting:
            self._room.set()
        return await self._process(update_id, update)

    async def _process(self, update_id: int, update: Update) -> set[int]:
        handling = Handling(update_id)
        token = CURRENT.set(handling)
        try:
            await self.application.process_update(update)
        except Exception:  # the handlers report their own errors; this is a bug around them
            log.exception("handling update %d failed", update_id)
        finally:
            CURRENT.reset(token)
        if not handling.done:
            ports = self.engine.services.ports
            try:
                await ports.db.commit([ports.telegram_inbox.done(update_id, self.engine.now())])
            except StorageError as exc:  # it stays open and is handled again at next start
                log.error("update %d handled but not marked done: %s", update_id, exc)
        return handling.chats


class QueuingSender(Sender):
    """The `Sender` the handlers get. While an update is handled, replies are not sent
    but queued in the outbox (with the update's done mark when it has none yet); the chat's
    next step sends them. Outside an update it sends at once."""

    def __init__(self, bot: Bot, engine: Engine, *, per_chat_interval: float) -> None:
        super().__init__(bot, per_chat_interval=per_chat_interval)
        self.engine = engine

    def receipt(self, key: ConversationKey) -> Receipt | None:
        """For a turn run while an update is handled: the writes that keep the turn's
        replies in the outbox and mark the update done, in the turn's commit."""
        handling = CURRENT.get()
        if handling is None:
            return None
        ports = self.engine.services.ports

        def kept(replies: tuple[Reply, ...]) -> list[Write]:
            now = self.engine.now()
            handling.turn_replies = replies
            return [
                *(ports.outbox.enqueue(key, REPLY_KIND, reply, now=now) for reply in replies),
                ports.telegram_inbox.done(handling.update_id, now),
            ]

        return kept

    async def send_replies(self, chat_id: int, replies: Sequence[Reply]) -> None:
        handling = CURRENT.get()
        if handling is None:
            return await super().send_replies(chat_id, replies)
        if handling.turn_replies is not None and replies is handling.turn_replies:
            # The turn's replies: committed with the turn (the engine returned them).
            handling.done = True
            handling.chats.add(chat_id)
            return None
        if not replies:
            return None
        ports = self.engine.services.ports
        now = self.engine.now()
        key = ConversationKey.of(TELEGRAM, chat_id)
        writes = [ports.outbox.enqueue(key, REPLY_KIND, reply, now=now) for reply in replies]
        if not handling.done:
            writes.append(ports.telegram_inbox.done(handling.update_id, now))
        try:
            await ports.db.commit(writes)
        except StorageError as exc:
            log.error("a reply could not be queued (%s); sending it at once", exc)
            return await super().send_replies(chat_id, replies)
        handling.done = True
        handling.chats.add(chat_id)
        return None
