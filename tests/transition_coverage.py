"""A pytest plugin that reports which declared transitions the suite drove through the
engine (not just on the machine): printed in the terminal summary after a run.

Every declared transition is already fired on the shared machine by test_machine.py; this
report shows which ones no conversation test reaches, so flows stay tested end to end.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine.engine import Engine
from flows.machine import ANY
from flows.tiers import definition

_fired: set[tuple[str, str]] = set()


def pytest_configure(config: pytest.Config) -> None:
    original = Engine.handle

    async def recording_handle(self: Engine, inp: Any, **kw: Any) -> Any:
        result = await original(self, inp, **kw)
        _fired.update((t.trigger, t.source) for t in result.transitions)
        return result

    Engine.handle = recording_handle  # type: ignore[method-assign]
    config.add_cleanup(lambda: setattr(Engine, "handle", original))


def missing_edges() -> list[str]:
    fired_triggers = {trigger for trigger, _source in _fired}
    missing = []
    for trigger, source, dest, _rule in definition().edges():
        covered = trigger in fired_triggers if source == ANY else (trigger, source) in _fired
        if not covered:
            missing.append(f"{source} --{trigger}--> {dest}")
    return missing


def pytest_terminal_summary(terminalreporter: Any) -> None:
    total = sum(1 for _ in definition().edges())
    missing = missing_edges()
    terminalreporter.write_line(
        f"transitions driven through the engine: {total - len(missing)}/{total}"
    )
    for edge in missing:
        terminalreporter.write_line(f"  never driven through the engine: {edge}")
