"""The machine definition: declared once, consistent, and every transition drivable on
the one shared machine."""

from __future__ import annotations

import pytest
from transitions import Machine

from flows.machine import (
    ANY,
    DefinitionError,
    Flow,
    MachineDefinition,
    StateSpec,
    TransitionSpec,
    build_machine,
    plain_moves,
)
from flows.tiers import definition, shared_machine


class _Model:
    def __init__(self, state: str) -> None:
        self.state = state


def _declared_edges() -> list[tuple[str, str, str]]:
    d = definition()
    edges = []
    for trigger, source, dest, _rule in d.edges():
        sources = [s.name for s in d.states] if source == ANY else [source]
        edges.extend((trigger, s, dest) for s in sources)
    return edges


@pytest.mark.parametrize(("trigger", "source", "dest"), _declared_edges())
def test_every_declared_transition_fires_on_the_shared_machine(
    trigger: str, source: str, dest: str
) -> None:
    model = _Model(source)
    assert shared_machine().events[trigger].trigger(model) is True
    assert model.state == dest


def test_the_machines_own_table_moves_every_declared_transition_as_firing_it_does() -> None:
    moves = plain_moves(shared_machine())
    assert moves is not None  # the machine runs no callbacks: the engine moves by the table
    edges = _declared_edges()
    for trigger, source, dest in edges:
        model = _Model(source)
        shared_machine().events[trigger].trigger(model)
        assert moves[(trigger, source)] == model.state == dest
    assert len(moves) == len(set((t, s) for t, s, _ in edges))


def test_a_machine_with_a_callback_has_no_table_and_is_fired() -> None:
    def fresh() -> Machine:  # not the shared one (build_machine caches it)
        machine: Machine = build_machine.__wrapped__(definition())
        assert machine is not shared_machine()
        return machine

    machine = fresh()
    machine.before_state_change = [lambda event: None]
    assert plain_moves(machine) is None
    machine = fresh()
    next(iter(machine.states.values())).on_enter = [lambda event: None]
    assert plain_moves(machine) is None
    machine = fresh()
    trigger, source, _dest = _declared_edges()[0]
    machine.events[trigger].transitions[source][0].conditions.append(lambda event: True)
    assert plain_moves(machine) is None


def test_the_machine_is_built_once() -> None:
    assert shared_machine() is shared_machine()


def test_every_state_belongs_to_a_tier_and_is_reachable() -> None:
    d = definition()
    targets = {dest for _t, _s, dest, _r in d.edges()} | {d.initial}
    for state in d.states:
        assert state.tier in {"automated", "tier1", "tier2", "closed"}
        assert state.name in targets, f"{state.name} can never be reached"


def test_a_transition_to_an_undeclared_state_is_refused() -> None:
    flow = Flow(
        "broken",
        (StateSpec("automated.a"),),
        (TransitionSpec("go", "automated.a", "automated.nowhere", "r"),),
    )
    with pytest.raises(DefinitionError, match="undeclared"):
        MachineDefinition.compose([flow], initial="automated.a")


def test_a_state_outside_the_tiers_is_refused() -> None:
    with pytest.raises(DefinitionError, match="tier"):
        MachineDefinition.compose([Flow("x", (StateSpec("tier3.a"),))], initial="tier3.a")


def test_a_trigger_declared_twice_from_one_state_is_refused() -> None:
    flow = Flow(
        "dup",
        (StateSpec("automated.a"), StateSpec("automated.b")),
        (
            TransitionSpec("go", "automated.a", "automated.b", "r"),
            TransitionSpec("go", "automated.a", "automated.a", "r"),
        ),
    )
    with pytest.raises(DefinitionError, match="twice"):
        MachineDefinition.compose([flow], initial="automated.a")
