"""The values that cross the engine's boundary: what comes in, what goes out, and the key
of a conversation. They import nothing of the project, so every layer may use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_BUTTON_DATA_BYTES = 64  # Telegram's limit on callback_data; the same for every channel
MAX_MESSAGE_CHARS = 4096  # Telegram's limit on one message's text; the same for every channel


CONSOLE = "console"  # the channels Tierline speaks on
TELEGRAM = "telegram"


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Identifies one conversation: the channel it runs on and the user's id there."""

    channel: str
    user_id: str

    @classmethod
    def of(cls, channel: str, user_id: str | int) -> ConversationKey:
        """The one way a key is made from a channel and a user id (ids are kept as text,
        so a Telegram id and a console name are stored alike)."""
        return cls(channel, str(user_id))

    def __str__(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str

    def as_json(self) -> dict[str, str]:
        return {"label": self.label, "data": self.data}


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": [b.as_json() for b in self.buttons]}


def joined(replies: tuple[Reply, ...], limit: int = MAX_MESSAGE_CHARS) -> tuple[Reply, ...]:
    """One answer, one message: `replies` joined into as few messages as `limit` allows,
    paragraphs kept apart by a blank line, with every button on the last message (the
    last reply's buttons first, then earlier ones not already there, and the buttons that
    work everywhere at the end)."""
    if len(replies) < 2:
        return replies
    texts: list[str] = []
    for reply in replies:
        if not reply.text:
            continue
        if texts and len(texts[-1]) + 2 + len(reply.text) <= limit:
            texts[-1] = f"{texts[-1]}\n\n{reply.text}"
        else:
            texts.append(reply.text)
    buttons = {b.data: b for b in replies[-1].buttons}
    for reply in replies[:-1]:
        for button in reply.buttons:
            buttons.setdefault(button.data, button)
    keyboard = tuple(buttons.values())
    if len(buttons) > len(replies[-1].buttons):
        # Commands that work everywhere (Back, Main menu...) stay at the end of the keyboard.
        keyboard = tuple(sorted(keyboard, key=lambda b: b.data.startswith("nav:")))
    if not texts:
        texts.append("")
    *first, last = texts
    return (*(Reply(t) for t in first), Reply(last, keyboard))


@dataclass(frozen=True, slots=True)
class TurnInput:
    """One thing the user did: typed `text` or pressed a button carrying `button` data."""

    key: ConversationKey
    received_at: datetime
    text: str | None = None
    button: str | None = None

    @property
    def kind(self) -> str:
        return "button" if self.button is not None else "text"

    @property
    def value(self) -> str:
        return self.button if self.button is not None else (self.text or "")


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """A transition that fired, and the rule or reason that fired it."""

    at: datetime
    trigger: str
    source: str
    dest: str
    rule: str  # the id of the rule that decided
    why: str = ""  # what the transition is for, as declared with its route

    def as_json(self) -> dict[str, str]:
        return {
            "at": self.at.isoformat(),
            "trigger": self.trigger,
            "source": self.source,
            "dest": self.dest,
            "rule": self.rule,
        }


@dataclass(frozen=True, slots=True)
class TurnResult:
    state: str
    tier: str
    replies: tuple[Reply, ...]
    transitions: tuple[TransitionRecord, ...] = field(default=())
    # The turn queued notices due now that its channel pushes (Telegram): push them now.
    notices_to_push: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "tier": self.tier,
            "replies": [r.as_json() for r in self.replies],
        }
