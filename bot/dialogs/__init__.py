"""The dialogs of each tier, registered on one registry when this package is imported."""

from bot.dialogs import automated, entry, tier1, tier2  # noqa: F401  (registration)
from bot.engine.dialogs import registry

__all__ = ["registry"]
