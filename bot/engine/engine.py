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

A signal (`Engine.signal`: a staff member's action, or a ticker's news such as a wait that
ran out) is a turn like any other, under the same lock and commit, except that what it says
is for the user, who is not the one asking: it is queued in the outbox in the same commit
(the channel delivers it), and only a refusal is returned to the caller.

What a turn *does* is declared in `flows/` (steps, routes, guards) and run by
`bot.engine.interpreter`; this module loads, commits and answers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextvars import ContextVar
from datetime import datetime

from bot.clock import Clock
from bot.config import Settings
from bot.engine.interpreter import Interpreter
from bot.engine.program import Program
from bot.engine.services import Services
from bot.engine.turn import Turn
from bot.inputs import valid_text
from bot.languages import language_of
from bot.locks import KeyedLocks
from bot.messages import Catalogue
from bot.model import ConversationKey, Reply, Signal, TurnInput, TurnResult, joined
from bot.storage.conversations import StoredConversation
from bot.storage.database import Conflict, StorageError, Write
from bot.storage.outbox import Notice
from bot.storage.ports import Ports
from flows.facts import Policy
from flows.machine import MachineDefinition, tier_of
from flows.privacy import transcript_text
from flows.state import ConversationState
from flows.steps import Say

log = logging.getLogger(__name__)

# The conversation this task holds in its engine's process lock (`Engine.holding`).
_HOLDING: ContextVar[tuple[int, ConversationKey] | None] = ContextVar(
    "tierline_engine_holding", default=None
)


def clean_input(inp: TurnInput) -> TurnInput:
    """The engine's edge: `inp` with its text, button data and user id made valid text
    (`bot.inputs.valid_text`), whatever adapter built it. Nothing that cannot be stored
    or shown gets past this point."""
    text, button, user_id = inp.text, inp.button, inp.key.user_id
    if (
        (text is None or text.isascii())
        and (button is None or button.isascii())
        and user_id.isascii()
    ):
        return inp  # most input: ASCII is valid as it is (checked without a call)
    text = None if inp.text is None else valid_text(inp.text)
    button = None if inp.button is None else valid_text(inp.button)
    user_id = valid_text(inp.key.user_id)
    if text is inp.text and button is inp.button and user_id is inp.key.user_id:
        return inp
    key = ConversationKey(inp.key.channel, user_id)
    return TurnInput(key, inp.received_at, text=text, button=button)


MAX_ATTEMPTS = 5  # a turn whose writes conflict is decided again on fresh data

# Writes an adapter keeps with a turn, given the replies the turn returns.
Receipt = Callable[[tuple[Reply, ...]], Sequence[Write]]


class TurnNotSaved(StorageError):
    """The turn could not be committed; nothing of it was kept and no reply was released."""


class Engine:
    """Runs turns. Build it with `Engine.create(...)`; close the database yourself."""

    def __init__(self, services: Services, *, pull_notices: frozenset[str] = frozenset()) -> None:
        self.services = services
        self._pull_notices = pull_notices
        self._locks: KeyedLocks[ConversationKey] = KeyedLocks()
        self._interpreter = Interpreter(services)
        # Read every turn, kept here: a settings attribute costs several plain ones.
        self._tz = services.settings.tz
        self._verbatim = services.settings.retention.verbatim_transcripts
        # Whether `Database.hold` holds anything: SQLite holds nothing (one process writes
        # the file), so its turns skip entering it (an `async with` costs two coroutines).
        self._holds_in_db = services.ports.db.holds

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
        from flows.machine import build_machine, plain_moves

        machine = build_machine(definition)
        services = Services(
            settings=settings,
            messages=messages,
            ports=ports,
            clock=clock,
            definition=definition,
            machine=machine,
            program=program,
            policy=policy,
            moves=plain_moves(machine),
        )
        return cls(services, pull_notices=pull_notices)

    # ---- the turn ---------------------------------------------------------------------------

    async def handle(self, inp: TurnInput, *, receipt: Receipt | None = None) -> TurnResult:
        """Run one turn of `inp.key`'s conversation and return what to show the user.

        Raises `TurnNotSaved` when the database could not commit: the caller shows a
        generic apology, never this turn's replies.

        `receipt`, when given, is called with the replies about to be returned and gives
        writes the caller keeps with this turn (the Telegram inbox: the update is done and
        its replies are queued for sending). They are committed in the turn's own commit,
        so when `handle` returns they are committed, and when it raises nothing is.
        """
        inp = clean_input(inp)
        ports = self.services.ports
        # The conversation's lock in this process, taken without an `async with` (entering
        # and leaving one costs two coroutines a turn): nearly every turn finds it free.
        held = _HOLDING.get()
        locks = self._locks
        if held is not None and held[0] == id(self) and held[1] == inp.key:
            # Already held by this task (`holding`: a Telegram replica holds the chat around
            # the turn, in the process and then in the database): not taken again.
            taken = False
        elif locks.take(inp.key):
            taken = True
        else:
            await locks.wait(inp.key)  # handed the key (or cancelled, and not holding it)
            taken = True
        try:
            if self._holds_in_db:
                async with ports.db.hold(inp.key):
                    return await self._attempts(inp, receipt)
            return await self._attempts(inp, receipt)
        finally:
            if taken:
                locks.release(inp.key)

    async def _attempts(self, inp: TurnInput, receipt: Receipt | None) -> TurnResult:
        """The turn, decided again on fresh data while its writes conflict (`handle`,
        holding the conversation)."""
        ports = self.services.ports
        conversations = ports.conversations
        # The row the last turn saved, when it is still kept: every save checks the
        # version, so a kept row gone stale makes a Conflict and is read again below.
        kept_row = conversations.remembered(inp.key)
        # Whether this channel is shown its notices in the turn (the same every attempt).
        pulls = inp.key.channel in self._pull_notices and inp.signal is None
        now = inp.received_at.astimezone(self._tz)
        for _attempt in range(MAX_ATTEMPTS):
            if kept_row is not None:
                stored = kept_row
            else:
                stored = await conversations.load(inp.key, self.services.definition.initial)
            turn = Turn(
                self.services,
                stored,
                inp,
                ConversationState.restore(stored.answers),
                now,
            )
            notices = await self._pending_notices(turn) if pulls else []
            try:
                await self._interpreter.run(turn)
            except StorageError:
                raise
            except Exception:
                log.exception("turn failed in state %s; nothing was changed", stored.state)
                turn.reject(Say("error.internal"))
            pulled_now = pulls and not turn.rejected
            # One answer, one message: what the turn says is joined (within the message
            # limit), with the keyboard on the last message.
            if notices or (pulled_now and turn.notices_now):
                replies = joined(
                    (
                        *(n.reply for n in notices),
                        *turn.replies,
                        *(n.reply for n in turn.notices_now if pulled_now),
                    )
                )
            else:  # most turns: what the turn said, nothing else
                replies = joined(tuple(turn.replies))
            kept = receipt(replies) if receipt is not None else ()
            writes = self._writes_for(turn, notices, kept, pulls)
            if turn.saved is None and kept_row is not None:
                # Nothing saved checks the version, yet the turn answered from the kept
                # row (another process may have moved the conversation): a write that
                # changes nothing conflicts, like a save, when the row is not the kept
                # one, and the turn is decided again on the row read afresh. (Cheaper
                # than reading the row back: the commit is shared with other turns.)
                writes.append(conversations.unchanged(kept_row))
            if writes:
                try:
                    await ports.db.commit(writes)
                except Conflict:
                    conversations.forget(inp.key)
                    kept_row = None
                    continue
                except StorageError as exc:
                    conversations.forget(inp.key)
                    raise TurnNotSaved(str(exc)) from exc
            if turn.saved is not None:
                conversations.remember(turn.saved)
            if inp.signal is not None:
                return self._signal_result(turn, stored.state)
            rejected = turn.rejected
            state = stored.state if rejected else turn.current
            return TurnResult(
                state=state,
                tier=tier_of(state),
                replies=replies,
                transitions=() if rejected else tuple(turn.transitions),
                notices_to_push=((bool(turn.notices_now) and not pulled_now) or turn.push_now)
                and not rejected,
                kept=not rejected,
                rule=turn.rule,
                why=turn.why,
            )
        log.warning("turn gave up after %d conflicting attempts", MAX_ATTEMPTS)
        busy = (Reply(self.text("error.busy")),)
        if receipt is not None:
            try:
                await ports.db.commit(receipt(busy))
            except StorageError as exc:
                raise TurnNotSaved(str(exc)) from exc
        return TurnResult(state=stored.state, tier=tier_of(stored.state), replies=busy, kept=False)

    @contextlib.asynccontextmanager
    async def holding(self, key: ConversationKey) -> AsyncIterator[None]:
        """Hold `key`'s conversation in this process for the length of the block; the
        turns of `key` run in it (by this task) do not take it again. A caller that also
        holds the conversation in the database (`Database.try_hold`) takes this first, the
        order every turn takes them in, so that it never waits here while holding there."""
        async with self._locks.hold(key):
            token = _HOLDING.set((id(self), key))
            try:
                yield
            finally:
                _HOLDING.reset(token)

    async def signal(self, signal: Signal, now: datetime | None = None) -> TurnResult:
        """Deliver `signal` to its conversation's current step. The result's `kept` says
        whether a route took it; its replies are only a refusal, for the caller (what the
        signal says to the user is queued in the outbox). Raises `TurnNotSaved` like
        `handle`."""
        at = now or self.now()
        return await self.handle(TurnInput(signal.key, at, signal=(signal.name, *signal.args)))

    async def tick(self) -> None:
        """Run the work the clock has made due (reminders, the simulated officer, a wait
        that ran out) and deliver the signals it returns."""
        now = self.services.clock.now()
        for ticker in self.services.program.actions.tickers:
            for signal in await ticker(self.services, now) or ():
                try:
                    await self.signal(signal, now)
                except TurnNotSaved as exc:  # the next tick tries again
                    log.error("signal %s could not be saved: %s", signal.name, exc)

    def now(self) -> datetime:
        return self.services.clock.now()

    def text(self, key: str, **params: object) -> str:
        """A catalogue text, for adapters that must speak outside a turn."""
        return self.services.messages.text(key, **params)

    def text_in(self, language: str | None, key: str, **params: object) -> str:
        """`text` in the language the channel names for the user (Telegram's
        language_code), when it is one we speak."""
        return self.services.messages.in_language(language_of(language)).text(key, **params)

    async def state_of(self, key: ConversationKey) -> str:
        """Where `key`'s conversation stands, without running a turn."""
        return (await self._stored(key)).state

    async def question(self, key: ConversationKey) -> TurnResult:
        """The question `key`'s conversation is waiting on, with its choices (for a channel
        that reopens a conversation, like the console). Read only: nothing is kept."""
        async with self._locks.hold(key):
            stored = await self._stored(key)
            inp = TurnInput(key, self.services.clock.now(), text="")
            state = ConversationState.restore(stored.answers)
            turn = Turn(self.services, stored, inp, state, inp.received_at.astimezone(self._tz))
            await self._interpreter.ask_again(turn)
            return TurnResult(stored.state, tier_of(stored.state), joined(tuple(turn.replies)))

    async def has_conversation(self, key: ConversationKey) -> bool:
        """Whether `key` has a stored conversation to resume."""
        return (await self._stored(key)).version > 0

    async def _stored(self, key: ConversationKey) -> StoredConversation:
        return await self.services.ports.conversations.load(key, self.services.definition.initial)

    # ---- committing ---------------------------------------------------------------------------

    def _pulls(self, turn: Turn) -> bool:
        return turn.key.channel in self._pull_notices and turn.input.signal is None

    def _signal_result(self, turn: Turn, stored_state: str) -> TurnResult:
        state = stored_state if turn.rejected else turn.current
        return TurnResult(
            state=state,
            tier=tier_of(state),
            replies=tuple(turn.replies) if turn.rejected else (),
            transitions=() if turn.rejected else tuple(turn.transitions),
            notices_to_push=not turn.rejected and bool(turn.replies or turn.notices_now),
            kept=not turn.rejected,
        )

    async def _pending_notices(self, turn: Turn) -> list[Notice]:
        if not self._pulls(turn):
            return []
        return await self.services.ports.outbox.due(
            turn.key.channel, turn.now, user_id=turn.key.user_id
        )

    def _transcribed(self, turn: Turn) -> str:
        """What the transcript keeps of the input: button data as it is; typed text with
        personal identifiers masked, and an answer in the applicant's own words only as its
        length (unless the channel is in `retention.verbatim_transcripts`)."""
        inp = turn.input
        if inp.button is not None:
            return inp.value
        if turn.key.channel in self._verbatim:
            return inp.value
        step = self.services.program.step(turn.stored.state)
        own_words = (
            step is not None and step.private_text and not inp.value.lstrip().startswith("/")
        )
        return transcript_text(inp.value, free_text=own_words)

    def _writes_for(
        self,
        turn: Turn,
        notices: list[Notice],
        kept: Sequence[Write] = (),
        pulled_now: bool | None = None,
    ) -> list[Write]:
        ports = self.services.ports
        writes = [ports.outbox.mark_delivered(n.id, turn.now) for n in notices] if notices else []
        if turn.rejected:
            return [*writes, *kept]
        if pulled_now is None:
            pulled_now = self._pulls(turn)
        offered = [b.data for r in turn.replies for b in r.buttons]  # turn.offered(), inline
        if notices or (pulled_now and turn.notices_now):
            shown = [n.reply for n in notices]
            shown += [n.reply for n in turn.notices_now if pulled_now]
            offered += [b.data for r in shown for b in r.buttons]
        if turn.keep_offered:  # answered in place: what the step offered stays live
            offered.extend(d for d in turn.stored.offered if d not in offered)
        key, inp, now, stored = turn.key, turn.input, turn.now, turn.stored
        before = turn.restored  # the state as `stored.answers` holds it
        if turn.state.language is None and before.language is not None:
            # A fresh start (/cancel, the end) keeps the language the applicant chose.
            turn.state = turn.state.but(language=before.language)
        unchanged = turn.state is before
        answers = stored.answers if unchanged else turn.state.dump()
        conversations = ports.conversations
        language = turn.language
        current, trail = turn.current, turn.trail
        writes.append(conversations.save(stored, current, answers, offered, now, trail, language))
        turn.saved = conversations.saved(stored, current, answers, offered, trail, language)
        if inp.signal is not None:
            # What a signal says is for the user, who did not ask: it waits in the outbox.
            kind = "signal:" + inp.signal[0]
            writes.extend(ports.outbox.enqueue(key, kind, r, now=now) for r in turn.replies)
        else:
            writes.append(
                ports.transcript.turn(key, now, inp.kind, self._transcribed(turn), current)
            )
        transcript = ports.transcript
        for t in turn.transitions:
            writes.append(transcript.transition(key, t.at, t.trigger, t.source, t.dest, t.rule))
        writes += turn.writes
        writes += kept  # before the turn's notices: its replies are sent first
        for n in turn.notices_now:
            writes.append(
                ports.outbox.enqueue(key, n.kind, n.reply, now=turn.now, delivered=pulled_now)
            )
        return writes
