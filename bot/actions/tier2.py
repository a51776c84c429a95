"""Loaders and effects of the tier2 tier (see `flows/tier2.py` for its steps)."""

from bot.engine.program import Actions

ACTIONS = Actions()
