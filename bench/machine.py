"""Benchmark: why the machine is shared. Measures, in one run, (a) building Tierline's full
`transitions` machine from its definition, as a per-conversation design would on every
turn, and (b) firing one trigger on the shared machine, as the engine does. Usage:

    python bench/machine.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transitions import Machine

from flows.machine import ANY
from flows.tiers import definition, shared_machine


class _Model:
    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def build_once() -> Machine:
    d = definition()
    return Machine(
        model=None,
        states=[s.name for s in d.states],
        transitions=[
            {
                "trigger": t.trigger,
                "source": ANY if ANY in t.sources else list(t.sources),
                "dest": t.dest,
            }
            for t in d.transitions
        ],
        initial=None,
        auto_transitions=False,
        send_event=True,
    )


def rate(fn, seconds: float) -> float:  # type: ignore[no-untyped-def]
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    machine = shared_machine()
    event = machine.events["lookup"]
    built = rate(build_once, args.seconds)
    fired = rate(lambda: event.trigger(_Model("automated.menu")), args.seconds)
    print(f"states {len(definition().states)}, transitions {sum(1 for _ in definition().edges())}")
    print(f"(a) build the machine per turn: {built:10.0f} /s")
    print(f"(b) fire on the shared machine: {fired:10.0f} /s")
    print(f"ratio (b)/(a): {fired / built:.0f}x")


if __name__ == "__main__":
    main()
