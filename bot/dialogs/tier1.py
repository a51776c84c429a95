"""Dialogs of Tier 1 (registered on import)."""

from __future__ import annotations

from bot.engine.dialogs import registry as dialogs
from bot.engine.turn import Turn
from flows import entry


@dialogs.on_enter(entry.TIER1_INTAKE)
async def handed_to_operator(turn: Turn) -> None:
    turn.say("tier1.handed_over", buttons=[turn.btn("buttons.menu", "nav:menu")])
