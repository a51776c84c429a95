"""The watch list on Telegram, with live data: /watch over the fake Bot API, a change at the
fake USCIS server, and the alert pushed to the chat by the running bot (the watcher runs
in the bot's clock-driven work, the alert goes through the outbox), once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import load_settings
from bot.storage.database import Database
from tests.conftest import MONDAY_10AM
from tests.fake_bot_api import FakeBotApi, wait_until
from tests.fake_uscis import FakeUscis
from tests.pg_server import database_location
from tests.telegram.conftest import TelegramUser, fast_telegram, running


@pytest.fixture
def fake_uscis() -> Iterator[FakeUscis]:
    with FakeUscis() as server:
        yield server


async def test_a_changed_watched_case_is_pushed_to_the_chat_once(
    fake_api: FakeBotApi, fake_uscis: FakeUscis, tmp_path: Path
) -> None:
    settings = load_settings(
        db_path=database_location(tmp_path, "tg.db"),
        case_source="uscis",
        uscis=fake_uscis.settings(),
    ).model_copy(update={"telegram": fast_telegram(fake_api.base_url)})
    clock = FixedClock(MONDAY_10AM, settings.tz)
    db = await Database.open(settings.db_path)
    try:
        engine = await create_engine(settings, db, clock, pull_notices=frozenset())
        user = TelegramUser(fake_api, 4242)
        async with running(engine, settings):
            (added,) = await user.send("/watch SRC9999102777 my I-485")
            assert "Now watching SRC9999102777" in added.text
            (listed,) = await user.send("/cases")
            assert "(my I-485) SRC9999102777, Form I-485: Request for Evidence Was Sent" in (
                listed.text
            )
            fake_uscis.update_case(
                "SRC9999102777",
                current_case_status_text_en="Response To USCIS' Request For Evidence Was Received",
                modifiedDate="11-24-2026 09:30:00",
            )
            clock.set(clock.now() + timedelta(hours=7))
            alert = await wait_until(
                lambda: [t for t in fake_api.texts(4242) if "has a new status" in t],
                what="the alert",
            )
            assert len(alert) == 1 and "Response To USCIS' Request For Evidence" in alert[0]
            polls = len(fake_uscis.case_calls)
            clock.set(clock.now() + timedelta(hours=7))
            await wait_until(lambda: len(fake_uscis.case_calls) > polls, what="another poll")
            sent = len(fake_api.texts(4242))
        assert len([t for t in fake_api.texts(4242) if "has a new status" in t]) == 1
        assert len(fake_api.texts(4242)) == sent
        client = getattr(engine.services.ports.cases, "client", None)
        if client is not None:
            await client.close()
    finally:
        await db.close()
