"""The values that cross the engine's boundary: what comes in, what goes out, and the key
of a conversation. They import nothing of the project but `bot.inputs` (which imports
nothing), so every layer may use them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from bot.inputs import MAX_BUTTON_DATA_BYTES as MAX_BUTTON_DATA_BYTES  # re-exported
from bot.inputs import valid_text

MAX_MESSAGE_CHARS = 4096  # Telegram's limit on one message's text; the same for every channel


CONSOLE = "console"  # the channels Tierline speaks on
TELEGRAM = "telegram"


class ConversationKey(Struct, frozen=True):
    """Identifies one conversation: the channel it runs on and the user's id there."""

    channel: str
    user_id: str

    @classmethod
    def of(cls, channel: str, user_id: str | int) -> ConversationKey:
        """The one way a key is made from a channel and a user id (ids are kept as text,
        so a Telegram id and a console name are stored alike; an id that is not valid text,
        such as a command-line argument that was not UTF-8, is made valid)."""
        return cls(channel, valid_text(str(user_id)))

    def __str__(self) -> str:
        return f"{self.channel}:{self.user_id}"


class Button(Struct, frozen=True):
    label: str
    data: str

    def as_json(self) -> dict[str, str]:
        return {"label": self.label, "data": self.data}


class Reply(Struct, frozen=True):
    text: str
    buttons: tuple[Button, ...] = ()
    # A notice's text in every other language (code, reply): the outbox sends the one of
    # the applicant's language when it is sent (bot/storage/outbox.py). Empty for replies.
    translations: tuple[tuple[str, Reply], ...] = ()

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
    if len(texts) < 2:  # most: one message
        return (Reply(texts[0] if texts else "", keyboard),)
    return (*(Reply(t) for t in texts[:-1]), Reply(texts[-1], keyboard))


class TurnInput(Struct, frozen=True):
    """One thing the user did: typed `text` or pressed a button carrying `button` data;
    or a `signal` for the conversation from outside it (see `Signal`)."""

    key: ConversationKey
    received_at: datetime
    text: str | None = None
    button: str | None = None
    signal: tuple[str, ...] | None = None  # (name, *args)
    # The channel's own id of this input (a Telegram chat and message id), so that an input
    # delivered twice can be recognised by an effect that must not act twice.
    source: str | None = None
    # What the channel says of the user's language (Telegram's language_code, the console's
    # --lang): used when the applicant has not chosen one (bot/languages.py).
    language: str | None = None

    @property
    def kind(self) -> str:
        if self.signal is not None:
            return "signal"
        return "button" if self.button is not None else "text"

    @property
    def value(self) -> str:
        return self.button if self.button is not None else (self.text or "")


class Signal(Struct, frozen=True):
    """News for one conversation from outside it: a staff member's action or the clock
    (`Engine.signal`, or returned by a ticker). The conversation's current step takes it
    by name, like an answer; what it says to the user waits in the outbox."""

    key: ConversationKey
    name: str
    args: tuple[str, ...] = ()


class TransitionRecord(Struct, frozen=True):
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


class TurnResult(Struct, frozen=True):
    state: str
    tier: str
    replies: tuple[Reply, ...]
    transitions: tuple[TransitionRecord, ...] = ()
    # The turn queued notices due now that its channel pushes (Telegram): push them now.
    notices_to_push: bool = False
    # False when nothing of the turn was kept (bad input, a signal no step took).
    kept: bool = True
    # The rule id of the decision the turn applied (a refusal's too) and what its route
    # is for: the trainer's classroom shows why a guard said no.
    rule: str = ""
    why: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "tier": self.tier,
            "replies": [r.as_json() for r in self.replies],
        }
