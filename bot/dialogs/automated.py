"""Dialogs of the automated tier (registered on import)."""
