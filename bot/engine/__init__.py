"""The conversation engine: one turn in, replies out, committed before they are seen."""

from bot.engine.engine import Engine
from bot.model import (
    Button,
    ConversationKey,
    Reply,
    TransitionRecord,
    TurnInput,
    TurnResult,
)

__all__ = [
    "Button",
    "ConversationKey",
    "Engine",
    "Reply",
    "TransitionRecord",
    "TurnInput",
    "TurnResult",
]
