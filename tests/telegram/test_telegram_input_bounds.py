"""Bad input through the real Telegram adapter (python-telegram-bot against the fake Bot
API): lone surrogates, over-long text, forged callback data, captions and over-long staff
arguments each get one clear answer, change nothing, and the chat goes on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.engine import ConversationKey, Engine
from bot.storage.database import Database
from tests.fake_bot_api import FakeBotApi
from tests.telegram.conftest import STAFF_ID, TelegramUser, running


async def _version(db: Database, user_id: int) -> int:
    row = await db.fetchone(
        "SELECT version FROM conversations WHERE channel = 'telegram' AND user_id = ?",
        (str(user_id),),
    )
    return 0 if row is None else int(row[0])


async def test_bad_applicant_input_is_answered_and_changes_nothing(
    fake_api: FakeBotApi, tg_engine: Engine, tg_settings: Settings, db: Database
) -> None:
    user = TelegramUser(fake_api, 5151)
    async with running(tg_engine, tg_settings):
        await user.send("/start")  # the greeting and the menu, one message
        # A lone surrogate (valid JSON, "\ud800", that no database can store): answered.
        (reply,) = await user.send("/help\ud800")
        assert reply.text.startswith(tg_engine.text("error.unknown_command", commands="")[:-1])
        before = await _version(db, user.id)
        (reply,) = await user.send("w" * 10_000)  # Telegram would never; a forger might
        assert reply.text.startswith(tg_engine.text("error.too_long", limit=4096))
        menu = user.keyboard
        for forged in ("x" * 200, "slot:20261123T1100", "nav:\ud800", "nav:" + "m" * 80):
            (reply,) = await user.press(menu, forged)
            assert "no longer active" in reply.text or "don't know that command" in reply.text
        before_photo = len(fake_api.messages(user.id))
        fake_api._queue(
            {"message": fake_api.make_message(user.id, photo=_PHOTO, caption="c" * 5000)}
        )
        (reply,) = await user.received(before_photo, 1)
        assert reply.text == tg_engine.text("telegram.text_only")
        assert await _version(db, user.id) == before, "none of it changed the conversation"
        await user.send("/menu")
        assert await _version(db, user.id) == before + 1
    assert await tg_engine.state_of(ConversationKey.of("telegram", user.id)) == "automated.menu"


_PHOTO = [{"file_id": "AgAD-photo", "file_unique_id": "p1", "width": 90, "height": 90}]


@dataclass
class RecordingDesk:
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    async def queue(self, now: datetime) -> list[Any]:
        return []

    async def take(self, reference: str, staff_id: str, now: datetime) -> Any:
        self.calls.append(("take", reference))
        raise LookupError(f"No open item has the reference {reference}.")

    async def complete(
        self, reference: str, outcome: str, note: str, staff_id: str, now: datetime
    ) -> Any:
        self.calls.append(("complete", reference, note))
        raise LookupError("not reached in these tests")


async def test_staff_arguments_are_bounded_and_made_valid(
    fake_api: FakeBotApi, tg_engine: Engine, tg_settings: Settings
) -> None:
    desk = RecordingDesk()
    officer = TelegramUser(fake_api, STAFF_ID)
    async with running(tg_engine, tg_settings, desk=desk, desk_error=LookupError):
        (reply,) = await officer.send("/done CB-1001 resolved " + "n" * 1200)
        assert reply.text == tg_engine.text("error.too_long", limit=1000)
        (reply,) = await officer.send("/take CB-" + "9" * 100)
        assert reply.text == tg_engine.text("error.too_long", limit=64)
        assert desk.calls == [], "nothing over a bound reached the desk"
        (reply,) = await officer.send("/take cb-1\ud800")
        assert reply.text == "No open item has the reference cb-1\ufffd."
    assert desk.calls == [("take", "cb-1\ufffd")]  # the desk reads references in any case
