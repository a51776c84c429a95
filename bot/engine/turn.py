"""What a dialog handler works with during one turn.

A `Turn` holds the conversation as it was loaded, the input, and everything the handler
does: replies said, transitions fired, slots changed, writes staged. Nothing reaches the
database or the user until the engine commits the turn as a whole.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.engine.model import Button, ConversationKey, Reply, TransitionRecord, TurnInput
from bot.storage import outbox
from bot.storage.database import Params, Write
from flows.machine import tier_of

if TYPE_CHECKING:
    from bot.engine.services import Services


class InvalidTrigger(RuntimeError):
    """A handler fired a trigger the machine does not allow from the current state (a bug)."""


@dataclass
class Conversation:
    """A conversation as stored: its state, the slots the flow collected, the buttons it
    last offered, and a version for optimistic concurrency."""

    key: ConversationKey
    state: str
    slots: dict[str, Any] = field(default_factory=dict)
    offered: list[str] = field(default_factory=list)
    version: int = 0


class _Model:
    """The object the shared machine moves: nothing but a state."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class Turn:
    def __init__(self, services: Services, conversation: Conversation, inp: TurnInput) -> None:
        self.services = services
        self.settings = services.settings
        self.db = services.db
        self.conversation = conversation
        self.key = inp.key
        self.input = inp
        self.now: datetime = inp.received_at.astimezone(services.settings.tz)
        self.text: str | None = inp.text
        self.button: str | None = inp.button
        self.command: str | None = None
        self.args: str = ""
        self.slots: dict[str, Any] = copy.deepcopy(conversation.slots)
        self.replies: list[Reply] = []
        self.transitions: list[TransitionRecord] = []
        self.writes: list[Write] = []
        self.notices_now: list[tuple[str, Reply]] = []  # (kind, reply) due at once
        self.rejected = False
        self._model = _Model(conversation.state)

    # ---- where the conversation is --------------------------------------------------------

    @property
    def state(self) -> str:
        return self._model.state

    @property
    def tier(self) -> str:
        return tier_of(self.state)

    # ---- talking --------------------------------------------------------------------------

    def t(self, key: str, **params: Any) -> str:
        """The catalogue text for `key`."""
        return self.services.messages.text(key, **params)

    def btn(self, label_key: str, data: str, **params: Any) -> Button:
        return Button(self.t(label_key, **params), data)

    def say(
        self, key: str, *, buttons: tuple[Button, ...] | list[Button] = (), **params: Any
    ) -> None:
        self.replies.append(Reply(self.t(key, **params), tuple(buttons)))

    def reject(
        self, key: str, *, buttons: tuple[Button, ...] | list[Button] = (), **params: Any
    ) -> None:
        """Answer input that cannot be taken: the reply is said, and nothing else of this
        turn is kept (no transition, no slot, no write), so bad input changes nothing."""
        self.rejected = True
        self.replies = [Reply(self.t(key, **params), tuple(buttons))]

    # ---- moving -----------------------------------------------------------------------------

    def can_fire(self, trigger: str) -> bool:
        return self.services.definition.transition_for(trigger, self.state) is not None

    async def fire(self, trigger: str, *, rule: str | None = None) -> str:
        """Fire `trigger` on the shared machine, record it with its rule, and run the new
        state's on-enter handler. Returns the new state."""
        spec = self.services.definition.transition_for(trigger, self.state)
        if spec is None:
            raise InvalidTrigger(f"{trigger!r} is not allowed from {self.state!r}")
        source = self.state
        self.services.machine.events[trigger].trigger(self._model)
        if self._model.state != spec.dest:  # the machine and the definition must agree
            raise InvalidTrigger(f"{trigger!r} from {source!r} did not reach {spec.dest!r}")
        self.transitions.append(
            TransitionRecord(self.now, trigger, source, spec.dest, rule or spec.rule)
        )
        on_enter = self.services.registry.enter_handler(spec.dest)
        if on_enter is not None:
            await on_enter(self)
        return spec.dest

    # ---- staging writes ---------------------------------------------------------------------

    def write(self, sql: str, params: Params = (), *, expect_rows: int | None = None) -> None:
        """Stage a write; it is committed with the turn, or not at all."""
        self.writes.append(Write(sql, params, expect_rows))

    def notify(
        self,
        reply: Reply,
        *,
        kind: str,
        key: ConversationKey | None = None,
        due_at: datetime | None = None,
    ) -> None:
        """Queue a notice in the durable outbox, committed with the turn. A notice for this
        conversation that is due now is handed to the engine, which shows it in this turn's
        replies on channels that pull notices (console) or marks it for an immediate push
        (Telegram); either way it is delivered exactly once."""
        if (key is None or key == self.key) and (due_at is None or due_at <= self.now):
            self.notices_now.append((kind, reply))
            return
        self.writes.append(
            outbox.enqueue(key or self.key, kind, reply, now=self.now, due_at=due_at)
        )

    # ---- what the engine reads back -------------------------------------------------------

    @property
    def changed(self) -> bool:
        return bool(
            self.transitions
            or self.writes
            or self.notices_now
            or self.slots != self.conversation.slots
        )

    def offered(self) -> list[str]:
        return [b.data for r in self.replies for b in r.buttons]
