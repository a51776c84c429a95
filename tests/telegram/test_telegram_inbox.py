"""The durable inbox: an update is stored before Telegram is told it arrived, kept until
its turn has committed, handled first after a restart (in order per chat, once), and one
that cannot be read is skipped with one masked warning instead of stopping the bot."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.config import Settings
from bot.engine import Engine
from bot.storage.database import Database
from bot.storage.inbox import SqliteTelegramInbox
from tests.fake_bot_api import FakeBotApi, wait_until
from tests.pg_server import run_sql, run_sql_beside
from tests.telegram.conftest import TelegramUser, running


def _stored(db_path: Path | str, below: int) -> set[int]:
    rows = run_sql(db_path, f"SELECT update_id FROM telegram_inbox WHERE update_id < {below}")
    return {int(str(row[0])) for row in rows}


async def test_an_update_is_stored_before_telegram_is_told_it_arrived(
    fake_api: FakeBotApi, tg_engine: Engine, tg_settings: Settings
) -> None:
    confirmations: list[tuple[int, set[int]]] = []
    # Each time the bot confirms updates, look at what its database holds at that moment.
    fake_api.on_confirm = lambda offset: confirmations.append(
        (offset, _stored(tg_settings.db_path, offset))
    )
    async with running(tg_engine, tg_settings):
        ids = [fake_api.user_sends(5101 + n % 3, "/help")["update_id"] for n in range(12)]
        await wait_until(lambda: len(fake_api.messages()) == 12, what="the 12 replies")
        await wait_until(lambda: fake_api.confirmed_offset > max(ids), what="confirmations")
    assert confirmations
    for offset, stored in confirmations:
        assert {i for i in ids if i < offset} <= stored, f"confirmed up to {offset} unstored"


async def test_updates_that_cannot_be_stored_are_not_confirmed_and_come_again(
    fake_api: FakeBotApi, tg_engine: Engine, tg_settings: Settings
) -> None:
    user = TelegramUser(fake_api, 5201)
    async with running(tg_engine, tg_settings):
        # Storing fails from now on.
        await run_sql_beside(
            tg_settings.db_path, "ALTER TABLE telegram_inbox RENAME TO inbox_elsewhere"
        )
        update = fake_api.user_sends(user.id, "/help")
        polls = len(fake_api.calls("getUpdates"))
        await wait_until(lambda: len(fake_api.calls("getUpdates")) > polls + 3, what="retries")
        assert fake_api.texts(user.id) == []
        assert fake_api.confirmed_offset <= update["update_id"]  # Telegram still keeps it
        await run_sql_beside(
            tg_settings.db_path, "ALTER TABLE inbox_elsewhere RENAME TO telegram_inbox"
        )
        await user.received(0, 1)
        await wait_until(lambda: fake_api.confirmed_offset > update["update_id"], what="ok")
    (answer,) = fake_api.texts(user.id)  # once
    assert answer.startswith(tg_engine.text("help.text"))


async def test_updates_stored_before_a_stop_are_handled_first_in_order_and_once(
    fake_api: FakeBotApi, tg_engine: Engine, tg_settings: Settings, db: Database
) -> None:
    """As after a crash: three updates stored and not done, the second of them sent again
    by Telegram (it was never confirmed), then a newer one."""
    chat = 5301
    stored = [
        fake_api.make_update(message=fake_api.make_message(chat, text=f"/status IOE900000000{n}"))
        for n in range(3)
    ]
    now = tg_engine.now()
    await db.commit(
        [SqliteTelegramInbox.receive(u["update_id"], chat, json.dumps(u), now) for u in stored]
    )
    fake_api.queue_update(stored[1])
    fake_api.user_sends(chat, "/status IOE9000000009")
    async with running(tg_engine, tg_settings):
        await wait_until(lambda: len(fake_api.texts(chat)) >= 4, what="four answers")
        await wait_until(lambda: fake_api.confirmed_offset > stored[1]["update_id"], what="ok")
    answers = [text.split("receipt number ")[1][:13] for text in fake_api.texts(chat)]
    assert answers == ["IOE9000000000", "IOE9000000001", "IOE9000000002", "IOE9000000009"]
    rows = await db.fetchall("SELECT payload, done_at FROM telegram_inbox")
    assert rows and all(r["payload"] is None and r["done_at"] for r in rows)  # nothing kept


async def test_an_update_that_cannot_be_read_is_skipped_with_one_masked_warning(
    fake_api: FakeBotApi,
    tg_engine: Engine,
    tg_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # what `--log-level INFO` shows (DEBUG shows SQL)
    user = TelegramUser(fake_api, 5401)
    async with running(tg_engine, tg_settings):
        polls = len(fake_api.calls("getUpdates"))
        bad = fake_api.user_sends_malformed(user.id)
        (reply,) = await user.send("/help")  # the same person is answered right after
        await wait_until(lambda: fake_api.confirmed_offset > bad["update_id"], what="confirmed")
        polls = len(fake_api.calls("getUpdates")) - polls
    assert reply.text.startswith(tg_engine.text("help.text"))
    about_it = [r for r in caplog.records if f"update {bad['update_id']} " in r.getMessage()]
    assert [r.levelname for r in about_it] == ["WARNING"]
    assert "could not be read" in about_it[0].getMessage()
    assert "Zebulon" not in caplog.text and "Quixote" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert polls < 20  # long polls as usual, no tight loop of fetching it again
