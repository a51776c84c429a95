"""The vocabulary every tier is declared in: a `Step` per state, as data.

A step says what the conversation shows when it arrives in a state (`show`: message keys
and the choices offered), how typed text is read (`parse`, a pure function), and where the
conversation may go from there (`routes`: an ordered list of guarded transitions). A guard
is a pure function over `Facts` (the typed conversation state, the applicant's answer, the
loaded data and the policy from `config/`) that returns a `Decision` carrying the id of the
rule that made it, or None to let the next route try.

The engine (`bot.engine`) interprets these declarations: it renders a step when it is
entered, decodes a button or parses text, runs the guards in order, fires the first route's
transition on the one shared `transitions` machine and records the rule id the guard
returned. What needs I/O is named, never done here: `needs` names the facts the bot layer
loads before the step runs, and a route's `effect` names the writes the bot layer stages
when the route is taken. Nothing in this module, or in any step, touches a database or a
chat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from msgspec import Struct, field

if TYPE_CHECKING:
    from flows.facts import Facts
    from flows.state import ConversationState

ANY = "*"  # a route that may be taken from every state (commands)
# The kind of an `Answer` that is a signal: news for the conversation from outside it (a
# staff member's action, the clock), not something the applicant did. A route takes a
# signal by its kind, `signal_kind(name)`; a signal no route takes changes nothing.
SIGNAL = "signal:"


def signal_kind(name: str) -> str:
    return SIGNAL + name


class Say(Struct, frozen=True):
    """One sentence from the catalogue, by key, with its placeholders.

    Values are plain data: a `datetime` is shown in the long date-and-time style, a `date`
    in the long date style, by the engine's one formatter for each (never here).
    """

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    choices: tuple[Choice, ...] = ()  # buttons under this sentence

    def with_choices(self, *choices: Choice) -> Say:
        return Say(self.key, self.params, self.choices + choices)


def say(key: str, *choices: Choice, **params: Any) -> Say:
    return Say(key, params, choices)


class Kept(dict[str, Any]):
    """The placeholders of a `Say` that is kept and said again unchanged (a status answer
    kept for its case record): never changed once made, so what they are written as in
    one catalogue may be kept too (`bot.text.text`). Hashed by identity: looking one up
    costs no hashing of its values."""

    __slots__ = ()
    __hash__ = object.__hash__  # type: ignore[assignment]


def kept(said: Say) -> Say:
    """`said` with its placeholders `Kept`."""
    return Say(said.key, Kept(said.params), said.choices)


class Short(Struct, frozen=True):
    """A date and time in the short style of a button label ('Tue Nov 24, 10:30 a.m.')."""

    at: datetime


class ShortDay(Struct, frozen=True):
    """A day in the short style of a button label ('Tue Nov 24')."""

    day: date


class DayName(Struct, frozen=True):
    """A day named with its weekday, without the year ('Monday, January 4'): a day that is
    at most a few weeks away."""

    day: date


class Supplied(Struct, frozen=True):
    """A text an outside source supplies in its own words, in each language it has (USCIS
    gives a case's status title, description and history in English and Spanish): shown
    as it is in the reader's language, else in English."""

    en: str
    es: str = ""

    def in_language(self, code: str) -> str:
        return (self.es if code == "es" else "") or self.en


class Choice(Struct, frozen=True):
    """A button a step offers: its kind (declared by the step), the arguments it carries,
    and its label (a catalogue key, or a text taken as it is from configuration).

    The engine's codec turns (kind, args) into button data and back; no step or adapter
    builds or parses button data by hand.
    """

    kind: str
    label: str
    args: tuple[str, ...] = ()
    literal: bool = False  # `label` is text from config/, not a catalogue key
    params: Mapping[str, Any] = field(default_factory=dict)


def choice(kind: str, label: str, *args: str, **params: Any) -> Choice:
    return Choice(kind, label, tuple(args), params=params)


def labelled(kind: str, text: str, *args: str) -> Choice:
    """A choice whose label is text from configuration (a site name, a topic)."""
    return Choice(kind, text, tuple(args), literal=True)


# Choices every step may carry: they work in every state (see the entry tier's commands).
MENU = Choice("nav:menu", "buttons.menu")
AGENT = Choice("nav:agent", "buttons.agent")
FINISH = Choice("nav:finish", "buttons.finish")
# Every step but the main menu offers Back (to the step before, answers kept) and Main
# menu: the engine adds them to what a step shows, so no step declares them by hand.
BACK = Choice("nav:back", "buttons.back")


class Notice(Struct, frozen=True):
    """A message queued in the durable outbox for this conversation (a confirmation)."""

    kind: str
    say: Say
    choices: tuple[Choice, ...] = ()


class Shown(Struct, frozen=True):
    """What a step shows: sentences, then choices on the last one; optionally a new state
    (a step that records something as it is shown) and notices for the outbox."""

    says: tuple[Say, ...] = ()
    choices: tuple[Choice, ...] = ()
    state: ConversationState | None = None
    notices: tuple[Notice, ...] = ()


def shown(*says: Say, choices: tuple[Choice, ...] | list[Choice] = ()) -> Shown:
    return Shown(tuple(says), tuple(choices))


class Answer(Struct, frozen=True):
    """What the applicant did in a step: pressed a choice, typed text, or a command.

    `kind` is the choice's kind, ``"text"`` for typed text or ``"/name"`` for a command;
    `args` the choice's arguments (or the command's words); `value` the parsed text.
    """

    kind: str
    args: tuple[str, ...] = ()
    value: Any = None
    text: str = ""

    def pressed(self, kind: str) -> bool:
        return self.kind == kind

    @property
    def arg(self) -> str:
        return self.args[0] if self.args else ""


class Decision(Struct, frozen=True):
    """A guard's answer: the rule that decided, what to say, and the state afterwards.

    `reject`: the input cannot be taken; the sentences are said and nothing else of the
    turn is kept (no transition, no state, no write), so bad input changes nothing.
    `again`: after the route's own sentences, show the current step again (a refusal that
    keeps the choices live, or an answer given in place).
    """

    rule: str
    says: tuple[Say, ...] = ()
    state: ConversationState | None = None
    choices: tuple[Choice, ...] = ()
    reject: bool = False
    again: bool = False


def decide(
    rule: str,
    *says: Say,
    state: ConversationState | None = None,
    choices: tuple[Choice, ...] | list[Choice] = (),
    again: bool = False,
) -> Decision:
    return Decision(str(rule), says, state, tuple(choices), again=again)


def refuse(rule: str, key: str, *, choices: tuple[Choice, ...] = (), **params: Any) -> Decision:
    """Bad input: say why; nothing of the turn is kept."""
    return Decision(str(rule), (Say(key, params),), choices=choices, reject=True)


Guard = Callable[["Facts"], Decision | None]
Render = Callable[["Facts"], Shown]
Parser = Callable[[str, "Facts"], "Answer | Decision | None"]


class Route(Struct, frozen=True):
    """A guarded transition. When `when` returns a decision, the route is taken: its
    `effect` (named writes the bot layer stages) runs, `trigger` fires on the shared
    machine (None: stay in the step) and the decision's rule id is recorded."""

    trigger: str | None
    dest: str | None
    when: Guard
    doc: str = ""
    effect: str | None = None
    needs: tuple[str, ...] = ()
    # Where the transition may fire from, when not the step's own state: commands and
    # intercepts name theirs (default: any state).
    sources: tuple[str, ...] | None = None
    # Arrive by asking the step's question again (`Step.ask`), not by showing it as on a
    # first visit: Back returns this way, answers kept and nothing recorded twice.
    asks: bool = False


def route(
    trigger: str | None,
    dest: str | None,
    when: Guard,
    doc: str = "",
    *,
    effect: str | None = None,
    needs: tuple[str, ...] = (),
    sources: tuple[str, ...] | None = None,
    asks: bool = False,
) -> Route:
    return Route(trigger, dest, when, doc, effect, needs, sources, asks)


def stay(
    when: Guard, doc: str = "", *, effect: str | None = None, needs: tuple[str, ...] = ()
) -> Route:
    """A route that answers in place: no transition fires."""
    return Route(None, None, when, doc, effect, needs)


class Step(Struct, frozen=True):
    """One state of the machine, declared with everything the engine needs to run it."""

    state: str
    doc: str
    # What the step shows on arrival: a function of the facts, or a `Shown` that never
    # changes (rendered once by the engine).
    show: Render | Shown | None = None
    routes: tuple[Route, ...] = ()
    parse: Parser | None = None
    needs: tuple[str, ...] = ()  # facts loaded before `show` and the guards
    kinds: tuple[str, ...] = ()  # the choice kinds this step may offer and decode
    # An effect staged whenever a transition takes the conversation out of this step to a
    # step that does not name the same `leave` (a command such as /menu, or a route): what
    # must be tidied up however the step is left. The effect sees the rule that decided.
    leave: str | None = None
    # Text typed here is the applicant's own words (a reason): the transcript keeps only
    # its length (`flows.privacy.transcript_text`).
    private_text: bool = False
    # The step's question, asked again after something answered in place (a command, a
    # receipt typed mid-flow, text not understood) and when Back returns here. It must not
    # change the state or queue notices. None: the last sentence of `show` and its choices.
    ask: Render | Shown | None = None


class Command(Struct, frozen=True):
    """A slash command, available in every state (and as a ``nav:`` button)."""

    name: str
    routes: tuple[Route, ...]
    doc: str = ""


class Tier(Struct, frozen=True):
    """What one tier contributes: its steps, commands, and the routes for text that no
    step of the tier took (for example a receipt number typed anywhere)."""

    name: str
    steps: tuple[Step, ...] = ()
    commands: tuple[Command, ...] = ()
    intercepts: tuple[Route, ...] = ()
    intercept_prefix: str = ""
    fallback: Guard | None = None
    menu: tuple[Any, ...] = ()  # `flows.entry.MenuItem`s this tier adds to the main menu
