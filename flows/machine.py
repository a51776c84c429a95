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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from transitions import Machine

from flows.steps import ANY
from flows.steps import Tier as TierDeclaration

Tier = Literal["automated", "tier1", "tier2", "closed"]
TIERS: tuple[Tier, ...] = ("automated", "tier1", "tier2", "closed")


@dataclass(frozen=True)
class StateSpec:
    """A state: its dotted name and what it is for (shown in diagrams and traces)."""

    name: str
    doc: str = ""

    @property
    def tier(self) -> Tier:
        return tier_of(self.name)


@dataclass(frozen=True)
class TransitionSpec:
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


@dataclass(frozen=True)
class Flow:
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

    @classmethod
    def from_tiers(cls, tiers: Iterable[TierDeclaration], initial: str) -> MachineDefinition:
        return cls.compose([flow_of(t) for t in tiers], initial)

    @classmethod
    def compose(cls, flows: Iterable[Flow], initial: str) -> MachineDefinition:
        states: list[StateSpec] = []
        transitions: list[TransitionSpec] = []
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
        return self._by_edge.get((trigger, source)) or self._by_edge.get((trigger, ANY))


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
