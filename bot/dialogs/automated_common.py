"""What the automated tier's dialogs share: its configuration and case provider (set up
once per engine), the way up to Tier 1, buttons every step offers, and date formats."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.engine.turn import Turn
from bot.model import Button

if TYPE_CHECKING:
    from bot.automated_config import AutomatedConfig
    from bot.cases.provider import CaseStatusProvider

DIDNT_HELP = "auto:didnt_help"
MENU = "nav:menu"


def config(turn: Turn) -> AutomatedConfig:
    return turn.services.extras["automated"]


def cases(turn: Turn) -> CaseStatusProvider:
    return turn.services.extras["cases"]


def way_out(turn: Turn) -> list[Button]:
    """The buttons at the end of every answer: it didn't help, and the menu."""
    return [turn.btn("auto.buttons.didnt_help", DIDNT_HELP), turn.btn("buttons.menu", MENU)]


async def escalate(turn: Turn, rule_id: str, plain: str) -> None:
    """Hand the conversation to Tier 1 with the reason recorded (the tiers' contract)."""
    turn.slots["escalation_reason"] = rule_id
    await turn.fire("escalate", rule=f"{rule_id}: {plain}")


async def pressed_common(turn: Turn) -> bool:
    """Buttons that work the same in every automated step."""
    if turn.button == DIDNT_HELP:
        turn.say("auto.didnt_help")
        await escalate(turn, "automated.didnt_help", "The applicant said the answer didn't help.")
        return True
    return False


def long_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def long_when(at: datetime) -> str:
    hour = at.hour % 12 or 12
    return f"{at:%A}, {long_date(at.date())}, {hour}:{at:%M} {'a.m.' if at.hour < 12 else 'p.m.'}"
