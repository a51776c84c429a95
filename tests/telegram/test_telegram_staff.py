"""Staff commands on Telegram: only for the allowlist, served by the staff desk."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from bot.config import Settings
from bot.engine import Engine
from tests.fake_bot_api import FakeBotApi
from tests.telegram.conftest import STAFF_ID, TelegramUser, running


class FakeDeskError(Exception):
    pass


@dataclass
class Item:
    reference: str
    kind: str = "callback"
    category: str = "ADIT stamp"
    urgent: bool = False
    due_at: datetime | None = None
    status: str = "waiting"
    summary: str = "Needs proof of status"


@dataclass
class Done:
    reference: str
    outcome: str
    summary: str


@dataclass
class FakeDesk:
    """Stands in for bot.staff.desk.StaffDesk, with the same methods."""

    items: list[Item] = field(default_factory=list)
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    async def queue(self, now: datetime) -> list[Item]:
        self.calls.append(("queue",))
        return self.items

    async def take(self, reference: str, staff_id: str, now: datetime) -> Item:
        self.calls.append(("take", reference, staff_id))
        for item in self.items:
            if item.reference == reference:
                return Item(reference, status="taken")
        raise FakeDeskError(f"No callback {reference} in the queue.")

    async def complete(self, reference: str, outcome: str, note: str, staff_id: str,
                       now: datetime) -> Done:
        self.calls.append(("complete", reference, outcome, note, staff_id))
        return Done(reference, outcome, "Closed.")


async def test_a_staff_command_from_someone_else_is_refused_and_logged_anonymously(
    fake_api: FakeBotApi, tg_engine: Engine, tg_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    desk = FakeDesk([Item("CB-1001")])
    intruder = TelegramUser(fake_api, 4242424242)
    caplog.set_level(logging.INFO)
    async with running(tg_engine, tg_settings, desk=desk, desk_error=FakeDeskError):
        for command in ("/queue", "/take CB-1001", "/done CB-1001 resolved"):
            (reply,) = await intruder.send(command)
            assert reply.text == tg_engine.text("telegram.staff.refused")
    assert desk.calls == []
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 3
    assert all(str(intruder.id) not in line for line in caplog.text.splitlines())


async def test_staff_can_list_take_and_complete_callbacks(
    fake_api: FakeBotApi, tg_engine: Engine, tg_settings: Settings,
) -> None:
    desk = FakeDesk([Item("CB-1001", urgent=True, due_at=datetime(2026, 11, 24, 15, 0)),
                     Item("CB-1002")])
    officer = TelegramUser(fake_api, STAFF_ID)
    async with running(tg_engine, tg_settings, desk=desk, desk_error=FakeDeskError):
        (queue,) = await officer.send("/queue")
        (taken,) = await officer.send("/take cb-1001")
        (missing,) = await officer.send("/take CB-9999")
        (usage,) = await officer.send("/done CB-1001 maybe")
        (done,) = await officer.send("/done CB-1001 no-answer left a voicemail")
    assert "CB-1001" in queue.text and "CB-1002" in queue.text
    assert queue.text.count(tg_engine.text("telegram.staff.urgent_marker")) == 1
    assert "CB-1001" in taken.text
    assert missing.text == "No callback CB-9999 in the queue."
    assert usage.text == tg_engine.text("telegram.staff.done_usage")
    assert "CB-1001" in done.text and "no-answer" in done.text
    assert desk.calls[-1] == ("complete", "CB-1001", "no-answer", "left a voicemail",
                              f"telegram:{STAFF_ID}")
    # Staff see their commands in their own chat's command menu.
    scoped = [c for c in fake_api.calls("setMyCommands") if c.params.get("scope")]
    assert scoped and scoped[0].params["scope"] == {"type": "chat", "chat_id": STAFF_ID}
