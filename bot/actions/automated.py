"""Loaders and effects of the automated tier (see `flows/automated.py` for its steps)."""

from bot.engine.program import Actions

ACTIONS = Actions()
