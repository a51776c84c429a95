"""Plain-language titles of the machine for a class: `config/trainer_titles.toml`.

Every state and trigger of the shared machine has a title (the Back transitions share
one); a name missing from the file, or one the machine does not have, is refused when the
titles are loaded, with the file, the field and the reason, like every file in `config/`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bot.config import ConfigError, config_dir, load_model
from flows.desk import OUTCOMES
from flows.machine import MachineDefinition, back_trigger

FILE = "trainer_titles.toml"
BACK = "back"
OFFICER_STEPS = ("reminder", "call")


class _Titles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    states: dict[str, str] = Field(default_factory=dict)
    transitions: dict[str, str] = Field(default_factory=dict)
    officer: dict[str, str] = Field(default_factory=dict)


class Titles:
    def __init__(
        self,
        states: dict[str, str],
        transitions: dict[str, str],
        officer: dict[str, str],
        backs: frozenset[str],
    ) -> None:
        self.states, self.transitions, self.officer = states, transitions, officer
        self.backs = backs  # the machine's Back triggers (back_<state>), one title for all

    def state(self, name: str) -> str:
        return self.states.get(name, name)

    def transition(self, trigger: str) -> str:
        if trigger in self.backs:
            return self.transitions[BACK]
        return self.transitions.get(trigger, trigger)

    @classmethod
    def load(cls, d: MachineDefinition, path: Path | None = None) -> Titles:
        path = path or config_dir() / FILE
        raw = load_model(path, _Titles)
        states = {s.name for s in d.states}
        backs = frozenset(back_trigger(name) for name in states)
        triggers = {t for t, _s, _d, _r in d.edges() if t not in backs}
        _same(path, "states", set(raw.states), states, "state")
        _same(path, "transitions", set(raw.transitions) - {BACK}, triggers, "trigger")
        if BACK not in raw.transitions:
            raise ConfigError(str(path), f"transitions.{BACK}", "no title for the Back transitions")
        _same(path, "officer", set(raw.officer), {*OFFICER_STEPS, *OUTCOMES}, "officer step")
        for section in ("states", "transitions", "officer"):
            for name, title in getattr(raw, section).items():
                if not title.strip():
                    raise ConfigError(str(path), f"{section}.{name}", "the title is empty")
        return cls(dict(raw.states), dict(raw.transitions), dict(raw.officer), backs)


def _same(path: Path, section: str, given: set[str], wanted: set[str], what: str) -> None:
    for name in sorted(wanted - given):
        raise ConfigError(str(path), f"{section}.{name}", f"no title for this {what}")
    for name in sorted(given - wanted):
        raise ConfigError(str(path), f"{section}.{name}", f"the machine has no such {what}")


@cache
def shipped() -> Titles:
    """The titles of the shipped machine (loaded and checked once)."""
    from flows.tiers import definition

    return Titles.load(definition())


def state_title(name: str) -> str:
    return shipped().state(name)


def transition_title(trigger: str) -> str:
    return shipped().transition(trigger)
