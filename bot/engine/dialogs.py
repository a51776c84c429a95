"""The registry that ties states to the code that talks in them.

Each tier has a module in `bot/dialogs/` that registers:
- `@dialogs.on_enter(state)`: what to say when a conversation arrives in `state`;
- `@dialogs.on_input(state)`: how `state` handles what the user typed or pressed; a key
  ending in ``.`` matches every state under that prefix. It returns True when it handled the
  input, False to let the interceptors and the fallback try;
- `@dialogs.command(name)`: a slash command, available in every state;
- `@dialogs.intercept(prefix)`: a last chance for input no state handler took (for example a
  receipt number typed anywhere in the automated tier);
- `@dialogs.ticker`: work the clock makes due (reminders, a simulated officer), run by
  `Engine.tick()` which adapters call before turns and on a timer;
- `@dialogs.on_setup`: run once when the engine starts (load policies, demo data).

Handlers orchestrate: the decisions they act on are pure functions in `flows/`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from bot.engine.services import Services
    from bot.engine.turn import Turn

Handler = Callable[["Turn"], Awaitable[bool]]
EnterHandler = Callable[["Turn"], Awaitable[None]]
Ticker = Callable[["Services", datetime], Awaitable[None]]
SetupHook = Callable[["Services"], Awaitable[None]]


class DialogRegistry:
    def __init__(self) -> None:
        self._enter: dict[str, EnterHandler] = {}
        self._input: dict[str, Handler] = {}
        self._commands: dict[str, Handler] = {}
        self._interceptors: list[tuple[str, Handler]] = []
        self.tickers: list[Ticker] = []
        self.setup_hooks: list[SetupHook] = []

    def ticker(self, fn: Ticker) -> Ticker:
        self.tickers.append(fn)
        return fn

    def on_setup(self, fn: SetupHook) -> SetupHook:
        self.setup_hooks.append(fn)
        return fn

    def on_enter(self, *states: str) -> Callable[[EnterHandler], EnterHandler]:
        def register(fn: EnterHandler) -> EnterHandler:
            for state in states:
                _register_once(self._enter, state, fn, "on_enter")
            return fn

        return register

    def on_input(self, *states: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for state in states:
                _register_once(self._input, state, fn, "on_input")
            return fn

        return register

    def command(self, *names: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for name in names:
                _register_once(self._commands, name.lstrip("/").lower(), fn, "command")
            return fn

        return register

    def intercept(self, prefix: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._interceptors.append((prefix, fn))
            return fn

        return register

    def copy(self) -> DialogRegistry:
        """A registry with the same handlers, to extend without touching this one."""
        other = DialogRegistry()
        other._enter, other._input = dict(self._enter), dict(self._input)
        other._commands, other._interceptors = dict(self._commands), list(self._interceptors)
        other.tickers, other.setup_hooks = list(self.tickers), list(self.setup_hooks)
        return other

    def enter_handler(self, state: str) -> EnterHandler | None:
        return _lookup(self._enter, state)

    def input_handler(self, state: str) -> Handler | None:
        return _lookup(self._input, state)

    def command_handler(self, name: str) -> Handler | None:
        return self._commands.get(name.lower())

    def commands(self) -> list[str]:
        return sorted(self._commands)

    def interceptors(self, state: str) -> list[Handler]:
        return [fn for prefix, fn in self._interceptors if state.startswith(prefix)]


H = TypeVar("H")


def _register_once(table: dict[str, H], key: str, fn: H, kind: str) -> None:
    if key in table:
        raise ValueError(f"{kind} handler for {key!r} registered twice")
    table[key] = fn


def _lookup(table: dict[str, H], state: str) -> H | None:
    if state in table:
        return table[state]
    # Longest matching prefix: "automated.status." before "automated.".
    parts = state.split(".")
    for end in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:end]) + "."
        if prefix in table:
            return table[prefix]
    return None


registry = DialogRegistry()
