"""Outbox notices are pushed to Telegram: once each, only marked delivered when Telegram
accepted them, and never again after a restart."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FixedClock
from bot.config import Settings
from bot.engine import ConversationKey, Engine, Reply
from bot.model import Button
from bot.storage import outbox
from bot.storage.database import Database
from tests.fake_bot_api import FakeBotApi, wait_until
from tests.telegram.conftest import running


async def _enqueue(
    db: Database,
    clock: FixedClock,
    user_id: int,
    text: str,
    *,
    due_in: timedelta = timedelta(0),
    buttons: tuple[Button, ...] = (),
) -> None:
    key = ConversationKey("telegram", str(user_id))
    await db.commit(
        [
            outbox.enqueue(
                key,
                "callback_reminder",
                Reply(text, buttons),
                now=clock.now(),
                due_at=clock.now() + due_in,
            )
        ]
    )


async def _undelivered(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT text FROM outbox WHERE delivered_at IS NULL ORDER BY id")
    return [row["text"] for row in rows]


async def test_due_notices_are_pushed_once_and_not_again_after_a_restart(
    fake_api: FakeBotApi,
    tg_engine: Engine,
    tg_settings: Settings,
    db: Database,
    clock: FixedClock,
) -> None:
    # Queued while the bot was not running: they go out when it starts.
    await _enqueue(
        db, clock, 3001, "Your callback is booked.", buttons=(Button("Main menu", "nav:menu"),)
    )
    await _enqueue(db, clock, 3001, "Reminder: your callback is tomorrow.")
    await _enqueue(db, clock, 3001, "Not yet due.", due_in=timedelta(days=1))
    async with running(tg_engine, tg_settings):
        await wait_until(lambda: len(fake_api.texts(3001)) == 2, what="the due notices")
    assert fake_api.texts(3001) == [
        "Your callback is booked.",
        "Reminder: your callback is tomorrow.",
    ]
    assert fake_api.messages(3001)[0].buttons == [("Main menu", "nav:menu")]
    assert await _undelivered(db) == ["Not yet due."]

    await _enqueue(db, clock, 3002, "A notice for someone else.")
    async with running(tg_engine, tg_settings):
        # Once the other user's notice is out, a whole round has passed since the restart.
        await wait_until(lambda: fake_api.texts(3002), what="the new notice")
        clock.advance(timedelta(days=1))
        await wait_until(lambda: len(fake_api.texts(3001)) == 3, what="the later notice")
    assert fake_api.texts(3001)[2:] == ["Not yet due."]  # the first two were not re-sent
    assert await _undelivered(db) == []


async def test_a_notice_telegram_did_not_accept_stays_undelivered(
    fake_api: FakeBotApi,
    tg_engine: Engine,
    tg_settings: Settings,
    db: Database,
    clock: FixedClock,
) -> None:
    fake_api.fail("sendMessage", "403", chat_id=3003)  # the user blocked the bot
    fake_api.fail("sendMessage", "500", times=2, chat_id=3004)  # a passing server fault
    await _enqueue(db, clock, 3003, "Your callback outcome.")
    await _enqueue(db, clock, 3004, "Your appointment is booked.")
    async with running(tg_engine, tg_settings):
        await wait_until(lambda: fake_api.texts(3004), what="the retried notice")
        await wait_until(
            lambda: any(c.status == 403 for c in fake_api.calls("sendMessage")),
            what="the refused notice",
        )
    assert fake_api.texts(3003) == []
    assert fake_api.texts(3004) == ["Your appointment is booked."]
    assert await _undelivered(db) == ["Your callback outcome."]
