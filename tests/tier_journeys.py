"""Shared steps for Tier 1 / Tier 2 tests: walking a conversation to the officer callback,
and engines with particular Tier 2 settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import load_settings
from bot.engine import Engine
from bot.storage.database import Database
from tests.conftest import MONDAY_10AM, Chat
from tests.pg_server import database_location

PHONE = "(202) 555-0143"


@asynccontextmanager
async def engine_with(
    tmp_path: Path,
    *,
    at: Any = MONDAY_10AM,
    **tier2: Any,
) -> AsyncIterator[tuple[Engine, FixedClock]]:
    settings = load_settings(db_path=database_location(tmp_path, "custom.db"), tier2=tier2)
    db = await Database.open(settings.db_path)
    clock = FixedClock(at, settings.tz)
    try:
        yield await create_engine(settings, db, clock), clock
    finally:
        await db.close()


async def to_officer(
    chat: Chat,
    *,
    role: str = "applicant",
    issue: str = "something_else",
    need: str | None = None,
    evidence: str | None = None,
) -> None:
    """From wherever the chat is to `tier2.slots` through Tier 1 triage."""
    await chat.press("nav:agent")
    await chat.press(f"role:{role}")
    await chat.press(f"issue:{issue}")
    if need is not None:
        await chat.press(f"need:{need}")
    if evidence is not None:
        await chat.press(f"evidence:{evidence}")
    assert chat.last is not None and chat.last.state == "tier2.slots", chat.text


def day_buttons(chat: Chat) -> list[str]:
    """The day buttons of `tier2.slots` ("day:20261123")."""
    return [b for b in chat.buttons if b.startswith("day:") and b != "day:again"]


def slot_buttons(chat: Chat) -> list[str]:
    """The time buttons of `tier2.times` ("slot:20261123T1100")."""
    return [b for b in chat.buttons if b.startswith("slot:") and b != "slot:days"]


async def to_times(chat: Chat, *, day: int = 0) -> list[str]:
    """From `tier2.slots`: pick a day; returns its time buttons."""
    await chat.press(day_buttons(chat)[day])
    assert chat.last is not None and chat.last.state == "tier2.times", chat.text
    return slot_buttons(chat)


async def to_confirm(
    chat: Chat, *, slot: int = 0, day: int = 0, zip_code: str | None = "10278"
) -> str:
    """From `tier2.slots`: pick a day and a time, give a phone number (and ZIP); returns
    the slot data."""
    data = (await to_times(chat, day=day))[slot]
    await chat.press(data)
    await chat.send(PHONE)
    if zip_code is not None and chat.last is not None and chat.last.state == "tier2.zip":
        await chat.send(zip_code)
    assert chat.last is not None and chat.last.state == "tier2.confirm", chat.text
    return data


async def book(chat: Chat, **to_officer_args: Any) -> str:
    """A booked callback from a fresh conversation; returns its reference."""
    await to_officer(chat, **to_officer_args)
    await to_confirm(chat)
    await chat.press("confirm:yes")
    assert chat.last is not None and chat.last.state == "tier2.booked", chat.text
    return next(w for w in chat.text.replace(".", " ").split() if w.startswith("CB-"))
