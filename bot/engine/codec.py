"""The one button codec: a step's `Choice` to button data and back.

Button data is ``kind`` or ``kind:arg:arg``. Telegram limits it to 64 bytes and sends it
back as it is, so it is untrusted input: a pressed button is decoded only when it is one the
conversation's last step offered (or a ``nav:`` button, which works everywhere), and only
into a kind that the current step declares. Everything else is stale or forged.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.inputs import button_data_fits
from bot.model import MAX_BUTTON_DATA_BYTES
from flows.steps import Answer, Choice

NAV = "nav:"  # buttons that are commands (menu, help, agent) stay valid everywhere
SEP = ":"


class ChoiceTooLong(ValueError):
    """A declared choice does not fit in button data (a bug in a step, found by tests)."""


def encode(choice: Choice) -> str:
    if any(SEP in arg or not arg for arg in choice.args):
        raise ValueError(f"choice {choice.kind!r}: an argument is empty or holds {SEP!r}")
    data = SEP.join((choice.kind, *choice.args))
    if len(data.encode("utf-8")) > MAX_BUTTON_DATA_BYTES:
        raise ChoiceTooLong(f"button data {data!r} is over {MAX_BUTTON_DATA_BYTES} bytes")
    return data


def fits(data: str) -> bool:
    return button_data_fits(data)


def nav_command(data: str) -> str | None:
    """The command a ``nav:`` button stands for, or None."""
    return data[len(NAV) :] if data.startswith(NAV) and len(data) > len(NAV) else None


def decode(data: str, kinds: Iterable[str], offered: Iterable[str]) -> Answer | None:
    """The answer a pressed button gives in a step declaring `kinds`, or None when the
    data is too long, was not offered, or is of no kind the step knows."""
    if not fits(data) or data not in offered:
        return None
    best = ""
    for kind in kinds:
        if (data == kind or data.startswith(kind + SEP)) and len(kind) > len(best):
            best = kind
    if not best:
        return None
    rest = data[len(best) + 1 :]
    return Answer(best, tuple(rest.split(SEP)) if rest else ())
