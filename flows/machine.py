"""The one state machine of Tierline, declared as data and built once.

Each tier module (`flows.entry`, `flows.automated`, `flows.tier1`, `flows.tier2`) declares a
`FLOW`: its states and the transitions between them. `DEFINITION` composes them and
`shared_machine()` builds a single `transitions.Machine` from it. Conversations never get a
machine of their own: a conversation is a small model object whose `state` is restored from
storage, and the shared machine moves it (see `bot.engine`).

States are flat, dotted names (``tier1.triage.issue``); the first segment is the tier. Flat
names avoid the nested-state bugs of transitions 0.9.x (a compound-to-compound transition
raised ``KeyError``) while the dotted prefix still lets the diagram group states by tier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Literal

from msgspec import Struct
from msgspec.structs import replace
from transitions import Machine

from flows.steps import ANY, Command, Decision, Route, decide, refuse, route, stay
from flows.steps import Tier as TierDeclaration

if TYPE_CHECKING:
    from flows.facts import Facts

Tier = Literal["automated", "tier1", "tier2", "closed"]
TIERS: tuple[Tier, ...] = ("automated", "tier1", "tier2", "closed")


class StateSpec(Struct, frozen=True):
    """A state: its dotted name and what it is for (shown in diagrams and traces)."""

    name: str
    doc: str = ""

    @property
    def tier(self) -> Tier:
        return tier_of(self.name)


class TransitionSpec(Struct, frozen=True):
    """A transition: the trigger, where it may fire from, where it goes, and the rule.

    ``rule`` names the reason in plain words; the engine records it in the transition log
    (the handler may add a more specific rule id, e.g. ``biometrics.less_than_12_hours``).
    ``source`` is a state name, a tuple of names, or ``"*"`` for any state.
    """

    trigger: str
    source: str | tuple[str, ...]
    dest: str
    rule: str  # what the transition is for, in plain words (diagrams and traces)

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,) if isinstance(self.source, str) else self.source


class Flow(Struct, frozen=True):
    """The states and transitions one tier contributes to the machine."""

    name: str
    states: tuple[StateSpec, ...] = ()
    transitions: tuple[TransitionSpec, ...] = ()


class DefinitionError(ValueError):
    """The machine definition is inconsistent (a bug in `flows/`, caught at import)."""


@dataclass(frozen=True)
class MachineDefinition:
    """All flows composed: validated once, then used to build the shared machine."""

    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    initial: str
    _by_name: dict[str, StateSpec] = field(default_factory=dict, compare=False, repr=False)
    # (trigger, source) -> transition, filled by _validate; "*" stands for any source.
    _by_edge: dict[tuple[str, str], TransitionSpec] = field(
        default_factory=dict, compare=False, repr=False
    )
    _wildcards: set[str] = field(default_factory=set, compare=False, repr=False)
    # state -> {trigger: transition}, the wildcards resolved: one look-up per question the
    # engine asks (several a turn), filled by _validate.
    _from: dict[str, dict[str, TransitionSpec]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # (the step Back would lead to, the current state) -> whether Back goes there: `back_to`
    # worked out once per pair (it is asked every turn that shows a Back button).
    _backs: dict[tuple[str, str], bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_tiers(cls, tiers: Iterable[TierDeclaration], initial: str) -> MachineDefinition:
        return cls.compose([flow_of(t) for t in tiers], initial)

    @classmethod
    def compose(cls, flows: Iterable[Flow], initial: str) -> MachineDefinition:
        states: list[StateSpec] = []
        transitions: list[TransitionSpec] = []
        seen: set[tuple[str, str]] = set()
        for flow in flows:
            states.extend(flow.states)
            transitions.extend(flow.transitions)
        # A route may name a trigger that also fires from any state (escalate, menu): the
        # wildcard declaration covers it, as long as both go to the same state.
        wildcard = {t.trigger: t.dest for t in transitions if ANY in t.sources}
        for t in transitions:
            if ANY not in t.sources and wildcard.get(t.trigger, t.dest) != t.dest:
                raise DefinitionError(
                    f"trigger {t.trigger!r} fires from any state to {wildcard[t.trigger]!r}"
                    f" and may not go to {t.dest!r} from {t.source!r}"
                )
        transitions = [t for t in transitions if ANY in t.sources or t.trigger not in wildcard]
        # Two tiers may name the same edge (a menu item, and the command that opens the
        # same step from the menu): declared once, as long as both go to the same state.
        edges: dict[tuple[str, str], str] = {}
        unique: list[TransitionSpec] = []
        for t in transitions:
            fresh = []
            for source in t.sources:
                if source != ANY and edges.setdefault((t.trigger, source), t.dest) != t.dest:
                    raise DefinitionError(
                        f"trigger {t.trigger!r} is declared twice from {source!r}, to two states"
                    )
                if source == ANY or (t.trigger, source) not in seen:
                    fresh.append(source)
                    seen.add((t.trigger, source))
            if fresh:
                unique.append(
                    t if len(fresh) == len(t.sources) else replace(t, source=tuple(fresh))
                )
        transitions = unique
        definition = cls(tuple(states), tuple(transitions), initial)
        definition._validate()
        return definition

    def _validate(self) -> None:
        for spec in self.states:
            if spec.name in self._by_name:
                raise DefinitionError(f"state {spec.name!r} is declared twice")
            tier_of(spec.name)  # raises on an unknown tier prefix
            self._by_name[spec.name] = spec
        if self.initial not in self._by_name:
            raise DefinitionError(f"initial state {self.initial!r} is not declared")
        wildcard_triggers = {t.trigger for t in self.transitions if ANY in t.sources}
        self._wildcards.update(wildcard_triggers)
        for t in self.transitions:
            if t.trigger in wildcard_triggers and ANY not in t.sources:
                raise DefinitionError(
                    f"trigger {t.trigger!r} fires from any state and may not be redeclared"
                )
            if t.dest not in self._by_name:
                raise DefinitionError(f"transition {t.trigger!r} goes to undeclared {t.dest!r}")
            for source in t.sources:
                if source != ANY and source not in self._by_name:
                    raise DefinitionError(
                        f"transition {t.trigger!r} leaves undeclared state {source!r}"
                    )
                if (t.trigger, source) in self._by_edge:
                    raise DefinitionError(
                        f"trigger {t.trigger!r} is declared twice from {source!r}"
                    )
                self._by_edge[(t.trigger, source)] = t
        anywhere = {t.trigger: t for t in self.transitions if ANY in t.sources}
        for name in self._by_name:
            self._from[name] = dict(anywhere)
        for (trigger, source), t in self._by_edge.items():
            if source != ANY:
                self._from[source][trigger] = t

    def state(self, name: str) -> StateSpec:
        return self._by_name[name]

    def has_state(self, name: str) -> bool:
        return name in self._by_name

    def edges(self) -> Iterator[tuple[str, str, str, str]]:
        """Every declared (trigger, source, dest, rule); ``source`` may be ``"*"``."""
        for t in self.transitions:
            for source in t.sources:
                yield t.trigger, source, t.dest, t.rule

    def transition_for(self, trigger: str, source: str) -> TransitionSpec | None:
        """The declared transition `trigger` fires from `source` (a specific one wins)."""
        table = self._from.get(source)  # `triggers_from`'s table, without its call
        return (table if table is not None else self.triggers_from(source)).get(trigger)

    def triggers_from(self, source: str) -> Mapping[str, TransitionSpec]:
        """Every transition that may fire from `source`, by trigger (`transition_for` for
        all triggers at once: a route loop asks for each of its routes)."""
        table = self._from.get(source)
        if table is None:  # a state not declared (removed by a newer release): the wildcards
            return {t: spec for (t, src), spec in self._by_edge.items() if src == ANY}
        return table

    def trail_after(
        self, trail: tuple[str, ...], trigger: str, source: str, dest: str, *, committed: bool
    ) -> tuple[str, ...]:
        """Where Back leads after `trigger` moved a conversation from `source` to `dest`.

        Back pops the last step; a command that may fire anywhere (menu, cancel, a person),
        the main menu and a route that committed something (a booking, a request) start
        afresh, since Back must never lead into a finished form; any other step route
        remembers the step it left."""
        if trigger.startswith(BACK_PREFIX):  # is_back(trigger), without its call
            return trail[:-1]
        if committed or trigger in self._wildcards or dest == self.initial:
            return ()
        if source == dest:
            return trail
        return (*trail, source)[-MAX_TRAIL:]

    def back_to(self, trail: tuple[str, ...], current: str) -> str | None:
        """The step Back leads to from `current`, or None when there is none to offer
        (nothing before, or only the main menu, which has its own button)."""
        if not trail or trail[-1] == self.initial:
            return None
        target = trail[-1]
        goes = self._backs.get((target, current))
        if goes is None:
            if len(self._backs) >= _BACKS_KEPT:
                self._backs.clear()
            goes = self._backs[(target, current)] = bool(
                self.transition_for(back_trigger(target), current)
            )
        return target if goes else None


# ---- going back ----------------------------------------------------------------------------

BACK_PREFIX = "back_"  # a back trigger per step it returns to: back_tier2_phone
MAX_TRAIL = 12  # steps remembered for Back
_BACKS_KEPT = 4096  # `MachineDefinition.back_to`'s answers kept (pairs of states)


class BackRule(StrEnum):
    WENT_BACK = "entry.went_back"
    BACK_TO_MENU = "entry.back_to_menu"
    NOTHING_BEFORE = "entry.nothing_to_go_back_to"


def back_trigger(state: str) -> str:
    return BACK_PREFIX + state.replace(".", "_")


def is_back(trigger: str) -> bool:
    return trigger.startswith(BACK_PREFIX)


def back_edges(tiers: Iterable[TierDeclaration], initial: str) -> dict[str, tuple[str, ...]]:
    """Where Back may lead, derived from the declared routes: for every route from a step P
    to another step D that fires only from named states and commits nothing, Back leads
    from D to P. Returned as {P: the states D it is reached back from}. Routes from the
    main menu are left out: Main menu is a button of its own."""
    tiers = tuple(tiers)
    wildcards = {
        r.trigger
        for t in tiers
        for r in (*(r for c in t.commands for r in c.routes), *t.intercepts)
        if r.trigger is not None and (r.sources is None or ANY in r.sources)
    }
    edges: dict[str, set[str]] = {}

    def add(r: Route, sources: tuple[str, ...]) -> None:
        if r.trigger is None or r.dest is None or r.effect is not None:
            return
        if r.trigger in wildcards or is_back(r.trigger):
            return
        for source in sources:
            if source not in (ANY, initial, r.dest):
                edges.setdefault(source, set()).add(r.dest)

    for t in tiers:
        for step in t.steps:
            for r in step.routes:
                add(r, r.sources or (step.state,))
        for r in (*(r for c in t.commands for r in c.routes), *t.intercepts):
            if r.sources is not None:
                add(r, r.sources)
    return {p: tuple(sorted(ds)) for p, ds in sorted(edges.items())}


def _went_back_to(target: str) -> Callable[[Facts], Decision | None]:
    def when(f: Facts) -> Decision | None:
        trail = f.trail
        return decide(BackRule.WENT_BACK) if trail and trail[-1] == target else None

    return when


def _back_to_menu(initial: str) -> Callable[[Facts], Decision | None]:
    def when(f: Facts) -> Decision | None:
        trail = f.trail
        return decide(BackRule.BACK_TO_MENU) if trail and trail[-1] == initial else None

    return when


def _nothing_before(f: Facts) -> Decision:
    return refuse(BackRule.NOTHING_BEFORE, "back.nothing")


def back_command(tiers: Iterable[TierDeclaration], initial: str) -> Command:
    """/back (and the Back button): one route per step Back may return to, derived from
    the routes of `tiers`; from the first step of a flow, the main menu."""
    routes = [
        route(
            back_trigger(target),
            target,
            _went_back_to(target),
            "Back to the step before, with the answers given so far.",
            sources=sources,
            asks=True,
        )
        for target, sources in back_edges(tiers, initial).items()
    ]
    routes.append(
        route(
            "menu",
            initial,
            _back_to_menu(initial),
            "Back from the first step of a flow: the main menu.",
        )
    )
    routes.append(stay(_nothing_before, "There is no step to go back to from here."))
    return Command("back", tuple(routes), "Go back to the step before.")


def tier_of(state: str) -> Tier:
    """The tier a dotted state name belongs to: its first segment."""
    head = state.split(".", 1)[0]
    if head not in TIERS:
        raise DefinitionError(f"state {state!r} does not start with a tier ({', '.join(TIERS)})")
    return head


@cache
def build_machine(definition: MachineDefinition) -> Machine:
    """The single `transitions.Machine` for `definition` (built once, cached).

    Built without a model: the engine passes each conversation's model to the event, so one
    machine serves all conversations and nothing is built per user or per turn.
    """
    d = definition
    return Machine(
        model=None,
        states=[s.name for s in d.states],
        transitions=[
            {
                "trigger": t.trigger,
                "source": list(t.sources) if ANY not in t.sources else ANY,
                "dest": t.dest,
            }
            for t in d.transitions
        ],
        initial=None,
        auto_transitions=False,
        send_event=True,
    )


def plain_moves(machine: Machine) -> dict[tuple[str, str], str] | None:
    """`machine`'s transitions as (trigger, source state) -> destination, read from the
    machine itself, when firing one does nothing but set the state: no condition and no
    callback on the machine, a transition or a state (what `build_machine` builds). None
    when it has one: then a trigger must go through the machine to run it.

    Firing through `transitions` walks its callback lists even when they are all empty
    (~10 us a trigger, a tenth of a turn); the engine moves a conversation by this table
    when there is one, to the state the machine's own transition names."""
    m = machine
    hooks = ("prepare_event", "before_state_change", "after_state_change", "finalize_event")
    if any(getattr(m, h, None) for h in (*hooks, "on_exception", "on_final")):
        return None
    if any(s.on_enter or s.on_exit or getattr(s, "final", False) for s in m.states.values()):
        return None
    moves: dict[tuple[str, str], str] = {}
    for trigger, event in m.events.items():
        for source, found in event.transitions.items():
            if not found:
                continue
            first = found[0]
            if first.conditions or first.prepare or first.before or first.after:
                return None
            if not isinstance(first.dest, str):  # internal, or an enum state
                return None
            moves[(trigger, source)] = first.dest
    return moves


def flow_of(tier: TierDeclaration) -> Flow:
    """The states and transitions a declared tier contributes to the machine."""
    states = tuple(StateSpec(step.state, step.doc) for step in tier.steps)
    transitions: list[TransitionSpec] = []
    seen: dict[tuple[str, str], str] = {}

    def add(trigger: str, source: str | tuple[str, ...], dest: str, doc: str) -> None:
        sources = (source,) if isinstance(source, str) else source
        fresh = tuple(s for s in sources if (trigger, s) not in seen)
        for s in sources:
            if seen.get((trigger, s), dest) != dest:
                raise DefinitionError(f"trigger {trigger!r} from {s!r} goes to two states")
        if fresh:
            for s in fresh:
                seen[(trigger, s)] = dest
            transitions.append(
                TransitionSpec(trigger, fresh if len(fresh) > 1 else fresh[0], dest, doc)
            )

    for command in tier.commands:
        for r in command.routes:
            if r.trigger is not None and r.dest is not None:
                add(r.trigger, r.sources or ANY, r.dest, r.doc)
    for step in tier.steps:
        for r in step.routes:
            if r.trigger is not None and r.dest is not None:
                add(r.trigger, r.sources or step.state, r.dest, r.doc)
    for r in tier.intercepts:
        if r.trigger is not None and r.dest is not None:
            add(r.trigger, r.sources or ANY, r.dest, r.doc)
    return Flow(tier.name, states, tuple(transitions))
