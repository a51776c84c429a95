"""The conversation engine: one turn in, replies out.

The rules every adapter relies on are kept here, in one place:
- durable before visible: a turn's state, transitions and bookings are committed before
  its replies are returned; a turn whose commit fails returns no reply of its own;
- one turn at a time per conversation (a lock per conversation key), while different
  conversations run concurrently and share group commits;
- one machine for everyone: a conversation is data loaded from the database and moved by
  the shared `transitions` machine;
- all time comes from the injected clock;
- bad input gets a clear reply and changes nothing, and no input crashes a conversation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.config import Settings
from bot.engine.dialogs import DialogRegistry, Handler
from bot.engine.model import (
    MAX_BUTTON_DATA_BYTES,
    Button,
    ConversationKey,
    Reply,
    TurnInput,
    TurnResult,
)
from bot.engine.services import Services
from bot.engine.turn import Conversation, Turn
from bot.messages import Catalogue
from bot.storage import outbox
from bot.storage.database import Conflict, Database, StorageError, Write
from bot.storage.timefmt import to_db
from flows.machine import definition, shared_machine, tier_of

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 4096  # Telegram's limit on one message; the same for every channel
MAX_ATTEMPTS = 5  # a turn whose writes conflict is decided again on fresh data
NAV_PREFIX = "nav:"  # buttons that are commands (menu, help, agent) stay valid everywhere


class TurnNotSaved(StorageError):
    """The turn could not be committed; nothing of it was kept and no reply was released."""


@dataclass
class _KeyLock:
    lock: asyncio.Lock
    users: int = 0


class Engine:
    """Runs turns. Build it with `Engine.create(...)`; close the database yourself."""

    def __init__(self, services: Services, *, pull_notices: frozenset[str] = frozenset()) -> None:
        self.services = services
        self._pull_notices = pull_notices
        self._locks: dict[ConversationKey, _KeyLock] = {}

    @classmethod
    async def create(
        cls,
        settings: Settings,
        db: Database,
        clock: Clock,
        *,
        messages: Catalogue | None = None,
        registry: DialogRegistry | None = None,
        pull_notices: frozenset[str] = frozenset({"console"}),
    ) -> Engine:
        """An engine over `db`. Channels in `pull_notices` receive their pending outbox
        notices at the start of each turn (the console); others push them (Telegram)."""
        if registry is None:
            from bot.dialogs import registry as default_registry

            registry = default_registry
        services = Services(
            settings=settings,
            messages=messages or Catalogue.load(settings.config_dir / "messages"),
            db=db,
            clock=clock,
            definition=definition(),
            machine=shared_machine(),
            registry=registry,
        )
        for hook in registry.setup_hooks:
            await hook(services)
        return cls(services, pull_notices=pull_notices)

    # ---- the turn ---------------------------------------------------------------------------

    async def handle(self, inp: TurnInput) -> TurnResult:
        """Run one turn of `inp.key`'s conversation and return what to show the user.

        Raises `TurnNotSaved` when the database could not commit: the caller shows a
        generic apology, never this turn's replies.
        """
        async with self._hold(inp.key):
            for _attempt in range(MAX_ATTEMPTS):
                conversation = await self._load(inp.key)
                turn = Turn(self.services, conversation, inp)
                notices = await self._pending_notices(turn)
                try:
                    await self._dispatch(turn)
                except (StorageError, TurnNotSaved):
                    raise
                except Exception:
                    log.exception(
                        "turn failed in state %s; nothing was changed", conversation.state
                    )
                    turn.reject("error.internal")
                writes = self._writes_for(turn, notices)
                if writes:
                    try:
                        await self.services.db.commit(writes)
                    except Conflict:
                        continue
                    except StorageError as exc:
                        raise TurnNotSaved(str(exc)) from exc
                pulled_now = self._pulls(turn) and not turn.rejected
                return TurnResult(
                    state=turn.state,
                    tier=turn.tier,
                    replies=(
                        *(n.reply for n in notices),
                        *turn.replies,
                        *(r for _k, r in turn.notices_now if pulled_now),
                    ),
                    transitions=() if turn.rejected else tuple(turn.transitions),
                    notices_to_push=bool(turn.notices_now) and not turn.rejected and not pulled_now,
                )
            log.warning("turn gave up after %d conflicting attempts", MAX_ATTEMPTS)
            return TurnResult(
                state=conversation.state,
                tier=tier_of(conversation.state),
                replies=(Reply(self.services.messages.text("error.busy")),),
            )

    async def tick(self) -> None:
        """Run the work the clock has made due (reminders, the simulated officer)."""
        now = self.services.clock.now()
        for ticker in self.services.registry.tickers:
            await ticker(self.services, now)

    def now(self) -> datetime:
        return self.services.clock.now()

    def text(self, key: str, **params: object) -> str:
        """A catalogue text, for adapters that must speak outside a turn."""
        return self.services.messages.text(key, **params)

    async def state_of(self, key: ConversationKey) -> str:
        """Where `key`'s conversation stands, without running a turn."""
        return (await self._load(key)).state

    async def has_conversation(self, key: ConversationKey) -> bool:
        """Whether `key` has a stored conversation to resume."""
        return (await self._load(key)).version > 0

    # ---- inside a turn ----------------------------------------------------------------------

    async def _dispatch(self, turn: Turn) -> None:
        registry = self.services.registry
        definition_ = self.services.definition
        if not definition_.has_state(turn.state):
            # A state removed by a newer release: start again at the menu rather than fail.
            log.warning("conversation was in unknown state %s; reset to the menu", turn.state)
            turn._model.state = definition_.initial
            turn.say("error.reset")

        if turn.button is not None:
            handler = self._button_handler(turn)
            if handler is None:
                turn.reject("error.stale_button")
                return
            if await handler(turn):
                return
            turn.reject("error.stale_button")
            return

        text = _clean_text(turn.text or "")
        if not text:
            turn.reject("error.empty")
            return
        if len(text) > MAX_TEXT_CHARS:
            turn.reject("error.too_long", limit=MAX_TEXT_CHARS)
            return
        turn.text = text

        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            name = name.split("@", 1)[0].lower()  # "/start@TierlineBot" in groups
            turn.command, turn.args = name, args.strip()
            command = registry.command_handler(name)
            if command is None or not await command(turn):
                turn.reject("error.unknown_command", commands=self._command_list())
            return

        state_handler = registry.input_handler(turn.state)
        if state_handler is not None and await state_handler(turn):
            return
        for interceptor in registry.interceptors(turn.state):
            if await interceptor(turn):
                return
        if turn.tier == "automated":
            turn.reject("fallback.not_understood", buttons=_nav_buttons(turn))
        else:  # with staff already: the buttons of the last message are still the way on
            turn.reject("fallback.use_buttons", buttons=[turn.btn("buttons.menu", "nav:menu")])

    def _button_handler(self, turn: Turn) -> Handler | None:
        data = turn.button or ""
        if len(data.encode("utf-8", "surrogatepass")) > MAX_BUTTON_DATA_BYTES:
            return None
        registry = self.services.registry
        if data.startswith(NAV_PREFIX):
            turn.command = data[len(NAV_PREFIX) :]
            return registry.command_handler(turn.command)
        if data not in turn.conversation.offered:
            return None  # stale (an old keyboard) or forged: never act on it
        return registry.input_handler(turn.state)

    def _command_list(self) -> str:
        return ", ".join("/" + c for c in self.services.registry.commands())

    def _pulls(self, turn: Turn) -> bool:
        return turn.key.channel in self._pull_notices

    async def _pending_notices(self, turn: Turn) -> list[outbox.Notice]:
        if not self._pulls(turn):
            return []
        return await outbox.due(
            self.services.db, turn.key.channel, turn.now, user_id=turn.key.user_id
        )

    def _writes_for(self, turn: Turn, notices: list[outbox.Notice]) -> list[Write]:
        writes = [outbox.mark_delivered(n.id, turn.now) for n in notices]
        if turn.rejected:
            return writes
        key, c = turn.key, turn.conversation
        now = to_db(turn.now)
        slots = json.dumps(turn.slots, separators=(",", ":"), sort_keys=True)
        pulled_now = self._pulls(turn)
        shown = [n.reply for n in notices] + [r for _k, r in turn.notices_now if pulled_now]
        offered = json.dumps(turn.offered() + [b.data for r in shown for b in r.buttons])
        if c.version == 0:
            writes.append(
                Write(
                    "INSERT INTO conversations (channel, user_id, state, slots, offered, version,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT DO NOTHING",
                    (key.channel, key.user_id, turn.state, slots, offered, now),
                    expect_rows=1,
                )
            )
        else:
            writes.append(
                Write(
                    "UPDATE conversations SET state = ?, slots = ?, offered = ?, version = ?,"
                    " updated_at = ? WHERE channel = ? AND user_id = ? AND version = ?",
                    (
                        turn.state,
                        slots,
                        offered,
                        c.version + 1,
                        now,
                        key.channel,
                        key.user_id,
                        c.version,
                    ),
                    expect_rows=1,
                )
            )
        writes.append(
            Write(
                "INSERT INTO turns (channel, user_id, at, kind, value, state) VALUES (?,?,?,?,?,?)",
                (key.channel, key.user_id, now, turn.input.kind, turn.input.value, turn.state),
            )
        )
        writes.extend(
            Write(
                "INSERT INTO transitions (channel, user_id, at, trigger, source, dest, rule)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key.channel, key.user_id, to_db(t.at), t.trigger, t.source, t.dest, t.rule),
            )
            for t in turn.transitions
        )
        writes.extend(turn.writes)
        writes.extend(
            outbox.enqueue(key, kind, reply, now=turn.now, delivered=pulled_now)
            for kind, reply in turn.notices_now
        )
        return writes

    async def _load(self, key: ConversationKey) -> Conversation:
        row = await self.services.db.fetchone(
            "SELECT state, slots, offered, version FROM conversations"
            " WHERE channel = ? AND user_id = ?",
            (key.channel, key.user_id),
        )
        if row is None:
            return Conversation(key, self.services.definition.initial)
        return Conversation(
            key,
            row["state"],
            json.loads(row["slots"]),
            json.loads(row["offered"]),
            row["version"],
        )

    @asynccontextmanager
    async def _hold(self, key: ConversationKey) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _KeyLock(asyncio.Lock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[key]


def _clean_text(text: str) -> str:
    """Text without control characters (newlines become spaces) and outer white space."""
    return "".join(
        " " if ch in "\r\n\t" else ch
        for ch in text
        if ch in "\r\n\t" or unicodedata.category(ch)[0] != "C"
    ).strip()


def _nav_buttons(turn: Turn) -> list[Button]:
    return [turn.btn("buttons.menu", "nav:menu"), turn.btn("buttons.agent", "nav:agent")]
