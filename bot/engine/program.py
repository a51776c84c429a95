"""What the engine runs: the tiers declared in `flows/` and the bot layer's actions.

A `Program` is handed to the engine at start (the engine imports no tier): the declared
tiers, and the `Actions` that carry out what a declaration can only name, namely the
loaders that fetch the facts a step `needs` and the effects that stage a route's writes,
plus clock-driven work (tickers) and start-up hooks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from msgspec import Struct, field

from flows.steps import Command, Render, Route, Shown, Step, Tier

if TYPE_CHECKING:
    from bot.engine.services import Services
    from bot.engine.turn import Turn
    from bot.model import Signal
    from flows.facts import Facts

Loader = Callable[["Turn"], Awaitable[None]]
Effect = Callable[["Turn"], Awaitable[None]]
# Clock-driven work. A ticker may return signals for conversations (a wait that ran out);
# the engine delivers each one as a turn of its own.
Ticker = Callable[["Services", datetime], Awaitable[Iterable["Signal"] | None]]


class ProgramError(ValueError):
    """The tiers and actions do not fit together (a bug, caught when the engine starts)."""


class Actions(Struct, frozen=True):
    """The bot layer's half of a tier: I/O named by the declarations."""

    loaders: Mapping[str, Loader] = field(default_factory=dict)
    effects: Mapping[str, Effect] = field(default_factory=dict)
    tickers: tuple[Ticker, ...] = ()

    @staticmethod
    def merge(parts: Iterable[Actions]) -> Actions:
        loaders: dict[str, Loader] = {}
        effects: dict[str, Effect] = {}
        tickers: list[Ticker] = []
        for part in parts:
            for name in part.loaders.keys() & loaders.keys():
                raise ProgramError(f"loader {name!r} is defined twice")
            for name in part.effects.keys() & effects.keys():
                raise ProgramError(f"effect {name!r} is defined twice")
            loaders.update(part.loaders)
            effects.update(part.effects)
            tickers.extend(part.tickers)
        return Actions(loaders, effects, tuple(tickers))


class Program:
    """Tiers and actions, indexed for the engine and checked against each other."""

    def __init__(self, tiers: Iterable[Tier], actions: Actions) -> None:
        self.tiers = tuple(tiers)
        self.actions = actions
        self._steps: dict[str, Step] = {}
        self._commands: dict[str, Command] = {}
        for tier in self.tiers:
            for step in tier.steps:
                if step.state in self._steps:
                    raise ProgramError(f"state {step.state!r} has two steps")
                self._steps[step.state] = step
            for command in tier.commands:
                if command.name in self._commands:
                    raise ProgramError(f"command /{command.name} is declared twice")
                self._commands[command.name] = command
        # Each step's question, worked out once: its own `ask`, else the last sentence of
        # what it shows, with the choices.
        self._prompts: dict[str, Render | Shown | None] = {
            state: _prompt_of(step) for state, step in self._steps.items()
        }
        self._intercepts: dict[str, list[Route]] = {}
        self._check()

    def _check(self) -> None:
        routes: list[Route] = []
        needs: set[str] = set()
        for step in self._steps.values():
            routes.extend(step.routes)
            needs.update(step.needs)
            if step.leave is not None and step.leave not in self.actions.effects:
                raise ProgramError(f"no action carries out effect {step.leave!r}")
        for tier in self.tiers:
            routes.extend(tier.intercepts)
            for command in tier.commands:
                routes.extend(command.routes)
        for r in routes:
            needs.update(r.needs)
            if r.effect is not None and r.effect not in self.actions.effects:
                raise ProgramError(f"no action carries out effect {r.effect!r}")
        for name in sorted(needs - self.actions.loaders.keys()):
            raise ProgramError(f"no loader for the facts named {name!r}")
        for r in routes:  # a step Back returns to asks its question again: it needs one
            if r.asks and r.dest is not None and self._prompts.get(r.dest) is None:
                raise ProgramError(f"{r.dest!r} is returned to but has no question to ask")

    def step(self, state: str) -> Step | None:
        return self._steps.get(state)

    def command(self, name: str) -> Command | None:
        return self._commands.get(name)

    def commands(self) -> list[str]:
        return sorted(self._commands)

    def prompt(self, state: str) -> Render | Shown | None:
        """How the step of `state` asks its question again (None: it has none)."""
        return self._prompts.get(state)

    def intercepts(self, state: str) -> list[Route]:
        found = self._intercepts.get(state)
        if found is None:
            found = self._intercepts[state] = [
                r
                for tier in self.tiers
                if tier.intercept_prefix and state.startswith(tier.intercept_prefix)
                for r in tier.intercepts
            ]
        return found


def _prompt_of(step: Step) -> Render | Shown | None:
    if step.ask is not None:
        return step.ask
    show = step.show
    if show is None:
        return None
    if isinstance(show, Shown):
        return Shown(show.says[-1:], show.choices)

    def last_question(f: Facts) -> Shown:
        shown = show(f)
        return Shown(shown.says[-1:], shown.choices)

    return last_question
