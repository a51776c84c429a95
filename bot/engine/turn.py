"""One turn in progress: what the loaders, effects and the interpreter work with.

A `Turn` holds the conversation as it was loaded, the input, and everything the turn does:
sentences said, transitions fired, the new typed state, writes staged through the ports,
notices queued. Nothing reaches the database or the user until the engine commits the turn
as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from msgspec import Struct

from bot.engine import codec
from bot.languages import language_of
from bot.messages import Catalogue
from bot.model import Button, ConversationKey, Reply, TransitionRecord, TurnInput
from bot.storage.conversations import StoredConversation
from bot.storage.database import Write
from bot.text import render, text
from flows.facts import Facts, Loaded
from flows.machine import tier_of
from flows.state import ConversationState
from flows.steps import Answer, Choice, Say

if TYPE_CHECKING:
    from bot.engine.services import Services


class InvalidTrigger(RuntimeError):
    """A route fired a trigger the machine does not allow from the current state (a bug)."""


class QueuedNotice(Struct, frozen=True):
    kind: str
    reply: Reply


@lru_cache(maxsize=4096)
def _plain_button(
    messages: Catalogue, kind: str, label: str, args: tuple[str, ...], literal: bool
) -> Button:
    choice = Choice(kind, label, args, literal)
    text = messages.literal(label) if literal else messages.text(label)
    return Button(text, codec.encode(choice))


def _button(messages: Catalogue, choice: Choice) -> Button:
    if not choice.params:
        return _plain_button(messages, choice.kind, choice.label, choice.args, choice.literal)
    return Button(text(messages, choice.label, choice.params), codec.encode(choice))


_UNSET = object()
_NO_ANSWER = Answer("")


class _Model:
    """The object the shared machine moves: nothing but a state."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class Turn:
    # Slots: one turn is made a turn, and a slotted object is quicker to make and to read.
    __slots__ = (
        "_language",
        "_language_for",
        "_messages",
        "answer",
        "current",
        "input",
        "keep_offered",
        "key",
        "loaded",
        "loaded_names",
        "notices_now",
        "now",
        "ports",
        "push_now",
        "question",
        "question_language",
        "rejected",
        "replies",
        "restored",
        "rule",
        "saved",
        "services",
        "settings",
        "state",
        "stored",
        "trail",
        "transitions",
        "why",
        "writes",
    )

    def __init__(
        self,
        services: Services,
        stored: StoredConversation,
        inp: TurnInput,
        state: ConversationState,
        now: datetime,
    ) -> None:
        self.services = services
        self.ports = services.ports
        self.settings = services.settings
        self.stored = stored
        self.key = inp.key
        self.input = inp
        self.now = now  # `inp.received_at` in the service's time zone
        self.state = state
        self.restored = state  # the state as `stored.answers` holds it (read by the engine)
        self.answer = _NO_ANSWER
        self.loaded = Loaded()
        self.loaded_names: set[str] = set()  # facts loaded in this turn, by name
        self.replies: list[Reply] = []
        self.transitions: list[TransitionRecord] = []
        self.writes: list[Write] = []
        self.notices_now: list[QueuedNotice] = []  # due at once, for this conversation
        self.push_now = False  # queued a notice due at once for another conversation
        self.rule = ""  # the rule id of the decision being applied (effects may read it)
        self.why = ""  # what the route of that decision is for, as declared (trainer)
        self.rejected = False
        # Answered in place: the buttons offered before this turn stay live beside its own.
        self.keep_offered = False
        self.question: tuple[Reply, ...] | None = None  # the step's question, once rendered
        self.question_language = ""  # ... in this language (/language renders it anew)
        self.trail = stored.trail  # the steps Back returns to
        # Where the conversation is: moved by `fire` (and `reset_to`) only.
        self.current = stored.state
        # `language`, worked out once for the state's choice it was worked out with (only
        # the state's choice can change during a turn: /language).
        self._language_for: object = _UNSET
        self._language = ""
        self._messages: Catalogue = services.messages  # ... and its catalogue
        # The conversation as this turn's save stores it (set with the save's write).
        self.saved: StoredConversation | None = None

    # ---- where the conversation is --------------------------------------------------------

    @property
    def tier(self) -> str:
        return tier_of(self.current)

    def facts(self) -> Facts:
        return Facts(
            now=self.now,
            state=self.state,
            policy=self.services.policy,
            current=self.current,
            answer=self.answer,
            loaded=self.loaded,
            allows=self.allows,
            trail=self.trail,
        )

    def allows(self, trigger: str) -> bool:
        return self.services.definition.transition_for(trigger, self.current) is not None

    # ---- talking --------------------------------------------------------------------------

    @property
    def language(self) -> str:
        """The language this turn speaks (bot/languages.py): the applicant's choice, else
        what the channel says (Telegram's language_code), else the language of the last
        turn (a signal or a notice has no channel hint), else the default setting."""
        chosen = self.state.language
        if chosen is not self._language_for:
            self._choose_language(chosen)
        return self._language

    def _choose_language(self, chosen: str | None) -> None:
        self._language_for = chosen
        self._language = (
            language_of(chosen)
            or language_of(self.input.language)
            or language_of(self.stored.language)
            or self.settings.default_language
        )
        self._messages = self.services.messages.in_language(self._language)

    @property
    def messages(self) -> Catalogue:
        chosen = self.state.language
        if chosen is not self._language_for:
            self._choose_language(chosen)
        return self._messages

    def text(self, said: Say) -> str:
        return text(self.messages, said.key, said.params)

    def button(self, choice: Choice) -> Button:
        return _button(self.messages, choice)  # most are cached: the same every time

    def reply(self, said: Say, choices: Iterable[Choice] = ()) -> Reply:
        messages = self.messages
        written = text(messages, said.key, said.params)
        if not said.choices and not choices:
            return Reply(written)
        return Reply(written, tuple(_button(messages, c) for c in (*said.choices, *choices)))

    def notice(self, said: Say, choices: Iterable[Choice] = ()) -> Reply:
        """A notice for the outbox: in this turn's language, with its text in every other
        language, so that it goes out in the applicant's language when it is sent."""
        extra = tuple(choices)
        here = self.reply(said, extra)
        others = []
        for code in self.services.messages.languages:
            if code != self.language:
                messages = self.services.messages.in_language(code)
                others.append(
                    (
                        code,
                        Reply(
                            render(messages, said),
                            tuple(_button(messages, c) for c in (*said.choices, *extra)),
                        ),
                    )
                )
        return Reply(here.text, here.buttons, tuple(others))

    def say(self, *says: Say, choices: Iterable[Choice] = ()) -> None:
        """Say `says` in order; `choices` go under the last one."""
        self.replies.extend(self.render(*says, choices=choices))

    def render(self, *says: Say, choices: Iterable[Choice] = ()) -> tuple[Reply, ...]:
        """The replies `says` make, `choices` under the last one."""
        if len(says) == 1:  # most say one thing
            return (self.reply(says[0], tuple(choices)),)
        extra = tuple(choices)
        last = len(says) - 1
        return tuple(self.reply(said, extra if i == last else ()) for i, said in enumerate(says))

    def reject(self, *says: Say, choices: Iterable[Choice] = ()) -> None:
        """Answer input that cannot be taken: the reply is said, and nothing else of this
        turn is kept (no transition, no state, no write), so bad input changes nothing."""
        self.rejected = True
        self.replies = []
        self.say(*says, choices=choices)

    # ---- moving -----------------------------------------------------------------------------

    def fire(self, trigger: str, rule: str, *, committed: bool = False) -> str:
        """Fire `trigger` on the shared machine and record it with its rule id; the trail
        Back follows is kept (`committed`: the route wrote something, so Back must not
        lead into the finished form)."""
        definition = self.services.definition
        source = self.current
        spec = definition.transition_for(trigger, source)
        if spec is None:
            raise InvalidTrigger(f"{trigger!r} is not allowed from {source!r}")
        moves = self.services.moves
        if moves is not None:  # the machine runs no callbacks: its table is the move
            dest = moves.get((trigger, source))
            if dest is None:
                raise InvalidTrigger(f"the machine has no {trigger!r} from {source!r}")
            self.current = dest
        else:
            model = _Model(source)
            self.services.machine.events[trigger].trigger(model)
            self.current = model.state
        if self.current != spec.dest:  # the machine and the definition must agree
            raise InvalidTrigger(f"{trigger!r} from {source!r} did not reach {spec.dest!r}")
        self.transitions.append(
            TransitionRecord(self.now, trigger, source, spec.dest, rule, spec.rule)
        )
        self.trail = definition.trail_after(
            self.trail, trigger, source, spec.dest, committed=committed
        )
        return spec.dest

    def reset_to(self, state: str) -> None:
        """Put a conversation whose stored state no longer exists back at `state`."""
        self.current = state

    # ---- staging writes ---------------------------------------------------------------------

    def write(self, *writes: Write) -> None:
        """Stage writes from a port; they are committed with the turn, or not at all."""
        self.writes.extend(writes)

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
            self.notices_now.append(QueuedNotice(kind, reply))
            return
        if due_at is None or due_at <= self.now:
            self.push_now = True
        self.writes.append(
            self.ports.outbox.enqueue(key or self.key, kind, reply, now=self.now, due_at=due_at)
        )

    # ---- what the engine reads back -------------------------------------------------------

    def offered(self) -> list[str]:
        return [b.data for r in self.replies for b in r.buttons]
