"""`practice_mode` (on by default): the greeting and every booking confirmation say that
Tierline is a practice assistant, not USCIS, and that nobody will actually call; with the
setting off, none of them does, and nothing else changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import load_settings
from bot.engine import Engine
from bot.messages import Catalogue
from bot.staff.desk import StaffDesk
from bot.storage.database import Database
from tests.automated_paths import PHONE, ZIP, to_appointment_checklist, to_biometrics_times
from tests.conftest import MONDAY_10AM, Chat, jsonl
from tests.pg_server import database_location
from tests.tier_journeys import book

NOTE = Catalogue.load(load_settings().config_dir / "messages").text("practice.note")


@pytest.fixture(params=[True, False], ids=["practice", "no-practice"])
async def practising(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    settings = load_settings(
        db_path=database_location(tmp_path, "p.db"), practice_mode=request.param
    )
    db = await Database.open(settings.db_path)
    try:
        yield await create_engine(settings, db, FixedClock(MONDAY_10AM, settings.tz))
    finally:
        await db.close()


def _says_practice(engine: Engine) -> bool:
    return bool(engine.services.settings.practice_mode)


def test_the_note_says_practice_not_uscis_and_nobody_calls() -> None:
    assert "practice assistant" in NOTE and "not USCIS" in NOTE
    assert "nobody will actually call" in NOTE


def test_practice_mode_is_on_unless_turned_off() -> None:
    assert load_settings().practice_mode is True
    assert load_settings(practice_mode=False).practice_mode is False


async def test_the_greeting(practising: Engine) -> None:
    chat = Chat(practising)
    await chat.send("/start")
    assert chat.last is not None
    greeting = chat.last.replies[0].text
    assert greeting.startswith("Hello, I'm Tierline")
    assert (NOTE in greeting) is _says_practice(practising)
    assert greeting == greeting.rstrip()  # no trailing blank line when it is off


async def test_a_booked_callback(practising: Engine) -> None:
    chat = Chat(practising)
    await book(chat)
    assert "Booked. An officer will call (202) 555-0143" in chat.text
    assert (NOTE in chat.text) is _says_practice(practising)


async def test_a_field_office_appointment(practising: Engine) -> None:
    chat = Chat(practising)
    reference = await book(chat, issue="inperson_need", need="daca", evidence="yes")
    now = practising.now()
    await StaffDesk.of(practising.services).complete(reference, "appointment", None, "o", now)
    await chat.send("/menu")
    assert "The officer booked you an in-person appointment" in chat.text
    assert (NOTE in chat.text) is _says_practice(practising)


async def test_an_appointment_request(practising: Engine) -> None:
    chat = Chat(practising)
    await to_appointment_checklist(chat)
    await chat.press("apr:docs:yes")
    await chat.send(PHONE)
    await chat.send(ZIP)
    await chat.press("apr:date:skip")
    assert "Reference: APR-" in chat.text
    assert (NOTE in chat.text) is _says_practice(practising)


async def test_a_rescheduled_biometrics_appointment(practising: Engine) -> None:
    chat = Chat(practising)
    await to_biometrics_times(chat)
    await chat.press(next(b for b in chat.buttons if b.startswith("bio:slot:")))
    assert "Done: your biometrics appointment is now on" in chat.text
    assert (NOTE in chat.text) is _says_practice(practising)


async def test_answers_that_book_nothing_carry_no_note(practising: Engine) -> None:
    chat = Chat(practising)
    await chat.send("/start")
    await chat.send("EAC2190000001")
    assert "Case Was Received" in chat.text and NOTE not in chat.text


@pytest.mark.parametrize("setting, shown", [(None, True), ("false", False), ("true", True)])
def test_the_console_greeting_follows_the_setting(
    tmp_path: Path, setting: str | None, shown: bool
) -> None:
    env = {"TIERLINE_PRACTICE_MODE": setting} if setting is not None else {}
    [out] = jsonl(
        "--db",
        str(tmp_path / "c.db"),
        "--now",
        datetime(2026, 11, 23, 10).isoformat(),
        lines=["/start"],
        env=env,
    )
    assert (NOTE in out["replies"][0]["text"]) is shown
