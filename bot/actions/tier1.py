"""Loaders and effects of the tier1 tier (see `flows/tier1.py` for its steps)."""

from bot.engine.program import Actions

ACTIONS = Actions()
