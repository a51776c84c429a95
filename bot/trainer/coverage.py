"""Transition coverage: which declared transitions a set of scenario runs exercised.

A declared transition is a (trigger, source) edge of `definition().edges()`. An edge
declared from any state (``"*"``) counts once, and is covered when its trigger fired from
any source. Fired transitions are read from the transition log of each run's database, so
transitions fired by ticks or staff actions count as well as those of applicant turns.
"""

from __future__ import annotations

from collections.abc import Iterable

from msgspec import Struct, field

from flows.machine import ANY, MachineDefinition

Edge = tuple[str, str]  # (trigger, source); source may be "*"


class TransitionCoverage(Struct):
    declared: list[Edge]
    fired: set[Edge] = field(default_factory=set)

    @classmethod
    def of(cls, d: MachineDefinition) -> TransitionCoverage:
        declared: list[Edge] = []
        for trigger, source, _dest, _rule in d.edges():
            if (trigger, source) not in declared:
                declared.append((trigger, source))
        return cls(declared)

    def record(self, fired: Iterable[Edge]) -> None:
        """Add transitions that fired, as (trigger, actual source state)."""
        self.fired.update(fired)

    def is_covered(self, edge: Edge) -> bool:
        trigger, source = edge
        if source == ANY:
            return any(t == trigger for t, _ in self.fired)
        return edge in self.fired

    @property
    def covered(self) -> list[Edge]:
        return [e for e in self.declared if self.is_covered(e)]

    @property
    def missed(self) -> list[Edge]:
        return [e for e in self.declared if not self.is_covered(e)]

    @property
    def ratio(self) -> float:
        return len(self.covered) / len(self.declared) if self.declared else 1.0

    def summary(self) -> str:
        return f"transition coverage: {len(self.covered)}/{len(self.declared)} ({self.ratio:.0%})"

    def as_json(self) -> dict[str, object]:
        return {
            "covered": len(self.covered),
            "declared": len(self.declared),
            "ratio": round(self.ratio, 4),
            "never_exercised": [{"trigger": t, "source": s} for t, s in self.missed],
        }


def describe_edge(edge: Edge) -> str:
    trigger, source = edge
    return f"{trigger} from {'any state' if source == ANY else source}"
