"""Dialogs of the tier2 tier (registered on import)."""
