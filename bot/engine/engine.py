"""The conversation engine: one turn in, replies out.

The rules every adapter relies on are kept here, in one place:
- durable before visible: a turn's state, transitions and bookings are committed before
  its replies are returned; a turn whose commit fails returns no reply of its own;
- one turn at a time per conversation (a lock per conversation key), while different
  conversations run concurrently and share group commits;
- one machine for everyone: a conversation is data loaded through the conversations port
  and moved by the shared `transitions` machine;
- all time comes from the injected clock;
- bad input gets a clear reply and changes nothing, and no input crashes a conversation.

What a turn *does* is declared in `flows/` (steps, routes, guards) and run by
`bot.engine.interpreter`; this module loads, commits and answers.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.clock import Clock
from bot.config import Settings
from bot.engine.interpreter import Interpreter
from bot.engine.program import Program
from bot.engine.services import Services
from bot.engine.turn import Turn
from bot.locks import KeyedLocks
from bot.messages import Catalogue
from bot.model import ConversationKey, Reply, TurnInput, TurnResult, joined
from bot.storage.conversations import StoredConversation
from bot.storage.database import Conflict, StorageError, Write
from bot.storage.outbox import Notice
from bot.storage.ports import Ports
from flows.facts import Policy
from flows.machine import MachineDefinition, tier_of
from flows.state import ConversationState
from flows.steps import Say

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # a turn whose writes conflict is decided again on fresh data


class TurnNotSaved(StorageError):
    """The turn could not be committed; nothing of it was kept and no reply was released."""


class Engine:
    """Runs turns. Build it with `Engine.create(...)`; close the database yourself."""

    def __init__(self, services: Services, *, pull_notices: frozenset[str] = frozenset()) -> None:
        self.services = services
        self._pull_notices = pull_notices
        self._locks: KeyedLocks[ConversationKey] = KeyedLocks()
        self._interpreter = Interpreter(services)

    @classmethod
    def create(
        cls,
        settings: Settings,
        ports: Ports,
        clock: Clock,
        *,
        program: Program,
        policy: Policy,
        definition: MachineDefinition,
        messages: Catalogue,
        pull_notices: frozenset[str] = frozenset({"console"}),
    ) -> Engine:
        """An engine over `ports`. Channels in `pull_notices` receive their pending outbox
        notices at the start of each turn (the console); others push them (Telegram)."""
        from flows.machine import build_machine

        services = Services(
            settings=settings,
            messages=messages,
            ports=ports,
            clock=clock,
            definition=definition,
            machine=build_machine(definition),
            program=program,
            policy=policy,
        )
        return cls(services, pull_notices=pull_notices)

    # ---- the turn ---------------------------------------------------------------------------

    async def handle(self, inp: TurnInput) -> TurnResult:
        """Run one turn of `inp.key`'s conversation and return what to show the user.

        Raises `TurnNotSaved` when the database could not commit: the caller shows a
        generic apology, never this turn's replies.
        """
        ports = self.services.ports
        async with self._locks.hold(inp.key):
            for _attempt in range(MAX_ATTEMPTS):
                stored = await ports.conversations.load(inp.key, self.services.definition.initial)
                turn = Turn(self.services, stored, inp, ConversationState.restore(stored.answers))
                notices = await self._pending_notices(turn)
                try:
                    await self._interpreter.run(turn)
                except StorageError:
                    raise
                except Exception:
                    log.exception("turn failed in state %s; nothing was changed", stored.state)
                    turn.reject(Say("error.internal"))
                writes = self._writes_for(turn, notices)
                if writes:
                    try:
                        await ports.db.commit(writes)
                    except Conflict:
                        continue
                    except StorageError as exc:
                        raise TurnNotSaved(str(exc)) from exc
                pulled_now = self._pulls(turn) and not turn.rejected
                return TurnResult(
                    state=turn.current if not turn.rejected else stored.state,
                    tier=tier_of(turn.current if not turn.rejected else stored.state),
                    # One answer, one message: what the turn says is joined (within the
                    # message limit), with the keyboard on the last message.
                    replies=joined(
                        (
                            *(n.reply for n in notices),
                            *turn.replies,
                            *(n.reply for n in turn.notices_now if pulled_now),
                        )
                    ),
                    transitions=() if turn.rejected else tuple(turn.transitions),
                    notices_to_push=bool(turn.notices_now) and not turn.rejected and not pulled_now,
                )
            log.warning("turn gave up after %d conflicting attempts", MAX_ATTEMPTS)
            return TurnResult(
                state=stored.state,
                tier=tier_of(stored.state),
                replies=(Reply(self.text("error.busy")),),
            )

    async def tick(self) -> None:
        """Run the work the clock has made due (reminders, the simulated officer)."""
        now = self.services.clock.now()
        for ticker in self.services.program.actions.tickers:
            await ticker(self.services, now)

    def now(self) -> datetime:
        return self.services.clock.now()

    def text(self, key: str, **params: object) -> str:
        """A catalogue text, for adapters that must speak outside a turn."""
        return self.services.messages.text(key, **params)

    async def state_of(self, key: ConversationKey) -> str:
        """Where `key`'s conversation stands, without running a turn."""
        return (await self._stored(key)).state

    async def question(self, key: ConversationKey) -> TurnResult:
        """The question `key`'s conversation is waiting on, with its choices (for a channel
        that reopens a conversation, like the console). Read only: nothing is kept."""
        async with self._locks.hold(key):
            stored = await self._stored(key)
            inp = TurnInput(key, self.services.clock.now(), text="")
            turn = Turn(self.services, stored, inp, ConversationState.restore(stored.answers))
            await self._interpreter.ask_again(turn)
            return TurnResult(stored.state, tier_of(stored.state), joined(tuple(turn.replies)))

    async def has_conversation(self, key: ConversationKey) -> bool:
        """Whether `key` has a stored conversation to resume."""
        return (await self._stored(key)).version > 0

    async def _stored(self, key: ConversationKey) -> StoredConversation:
        return await self.services.ports.conversations.load(key, self.services.definition.initial)

    # ---- committing ---------------------------------------------------------------------------

    def _pulls(self, turn: Turn) -> bool:
        return turn.key.channel in self._pull_notices

    async def _pending_notices(self, turn: Turn) -> list[Notice]:
        if not self._pulls(turn):
            return []
        return await self.services.ports.outbox.due(
            turn.key.channel, turn.now, user_id=turn.key.user_id
        )

    def _writes_for(self, turn: Turn, notices: list[Notice]) -> list[Write]:
        ports = self.services.ports
        writes = [ports.outbox.mark_delivered(n.id, turn.now) for n in notices]
        if turn.rejected:
            return writes
        pulled_now = self._pulls(turn)
        shown = [n.reply for n in notices] + [n.reply for n in turn.notices_now if pulled_now]
        offered = turn.offered() + [b.data for r in shown for b in r.buttons]
        if turn.keep_offered:  # answered in place: what the step offered stays live
            offered.extend(d for d in turn.stored.offered if d not in offered)
        key, inp = turn.key, turn.input
        unchanged = turn.state is ConversationState.restore(turn.stored.answers)
        answers = turn.stored.answers if unchanged else turn.state.dump()
        writes.append(
            ports.conversations.save(
                turn.stored, turn.current, answers, offered, turn.now, turn.trail
            )
        )
        writes.append(ports.transcript.turn(key, turn.now, inp.kind, inp.value, turn.current))
        writes.extend(
            ports.transcript.transition(key, t.at, t.trigger, t.source, t.dest, t.rule)
            for t in turn.transitions
        )
        writes.extend(turn.writes)
        writes.extend(
            ports.outbox.enqueue(key, n.kind, n.reply, now=turn.now, delivered=pulled_now)
            for n in turn.notices_now
        )
        return writes
