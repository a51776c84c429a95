"""Outbox notices are pushed to Telegram: once each, only marked delivered when Telegram
accepted them, and never again after a restart; a chat whose sends fail backs off alone;
what may have arrived is never sent a second time."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from bot.clock import FixedClock
from bot.config import Settings
from bot.engine import ConversationKey, Engine, Reply
from bot.model import Button
from bot.storage import outbox
from bot.storage.database import Database
from bot.storage.sending import SendingJournal
from tests.fake_bot_api import FakeBotApi, wait_until
from tests.telegram.conftest import TelegramUser, fast_telegram, running


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


async def _attempted_not_delivered(db: Database) -> list[str]:
    rows = await db.fetchall(
        "SELECT text FROM outbox WHERE attempted_at IS NOT NULL AND delivered_at IS NULL"
    )
    return [row["text"] for row in rows]


async def test_a_chat_whose_sends_fail_backs_off_alone(
    fake_api: FakeBotApi,
    settings: Settings,
    tg_engine: Engine,
    db: Database,
    clock: FixedClock,
) -> None:
    """One chat gets 5xx answers and another gets no answer at all for a while (standing
    for a minute); meanwhile a third chat's notices and replies arrive within a second
    each, and after the outage the first chat's notices arrive, once, in order."""
    failing, silent, other = 3101, 3102, 3103
    watched = 5.0  # seconds the third chat is served during the outage
    outage = 120.0  # ended by the test once it has looked: a slow machine cannot outlast it
    config = fast_telegram(
        fake_api.base_url,
        read_timeout_seconds=0.5,
        network_backoff_seconds=0.2,
        network_backoff_max_seconds=1.0,
    )
    quick = settings.model_copy(update={"telegram": config})
    for n in range(3):
        await _enqueue(db, clock, failing, f"Notice {n} for the failing chat.")
    await _enqueue(db, clock, silent, "A notice Telegram never answers.")
    fake_api.outage("500", seconds=outage, chat_id=failing)
    fake_api.outage("hang", seconds=outage, chat_id=silent, delay=3)
    delays: list[float] = []
    async with running(tg_engine, quick) as bot:
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < watched:
            queued = time.monotonic()
            if n % 2:
                await _enqueue(db, clock, other, f"Booking confirmation {n}.")
                bot.notices.wake()
            else:
                fake_api.user_sends(other, "/help")
            await wait_until(lambda: len(fake_api.texts(other)) > n, what=f"message {n}")  # noqa: B023
            delays.append(fake_api.messages(other)[n].at - queued)
            n += 1
            if n == 2:  # the failing chat's applicant writes too: handled, answered later
                fake_api.user_sends(failing, "/help")
            await asyncio.sleep(0.3)
        assert fake_api.texts(failing) == []  # still failing meanwhile
        fake_api.end_outages()
        await wait_until(lambda: len(fake_api.texts(failing)) == 4, within=15, what="after it")
        await asyncio.sleep(0.5)
    assert max(delays) < 1.0, delays
    print(f"\nother chat during the outage: {len(delays)} messages, slowest {max(delays):.3f} s")
    *notices, helped = fake_api.texts(failing)
    assert notices == [f"Notice {n} for the failing chat." for n in range(3)]
    assert helped.startswith(tg_engine.text("help.text"))  # the answer, one message
    refused = [c for c in fake_api.calls("sendMessage") if c.params.get("chat_id") == failing]
    assert len([c for c in refused if c.status == 500]) >= 3  # it was tried, and backed off
    # The silent chat's notice may have arrived (Telegram took the request and never
    # answered): it is not sent again, and stays on record as attempted.
    assert fake_api.texts(silent) == []
    assert await _attempted_not_delivered(db) == ["A notice Telegram never answers."]


async def test_a_message_delivered_whose_answer_was_lost_is_not_sent_again(
    fake_api: FakeBotApi, settings: Settings, tg_engine: Engine, db: Database, clock: FixedClock
) -> None:
    config = fast_telegram(fake_api.base_url, read_timeout_seconds=0.5)
    quick = settings.model_copy(update={"telegram": config})
    fake_api.fail("sendMessage", "deliver_slow", delay=1.5, chat_id=3201)  # times out
    fake_api.fail("sendMessage", "deliver_drop", chat_id=3202)  # connection lost
    await _enqueue(db, clock, 3201, "Your callback is booked.")
    async with running(tg_engine, quick):
        fake_api.user_sends(3202, "/help")
        await wait_until(lambda: fake_api.texts(3201) and fake_api.texts(3202), what="both")
        user = TelegramUser(fake_api, 3202)
        await user.send("/help")  # the chat goes on
        await asyncio.sleep(1.5)  # a second copy, if any, would be sent by now
    assert fake_api.texts(3201) == ["Your callback is booked."]
    helped = fake_api.texts(3202)
    assert len(helped) == 2  # one per /help
    assert all(h.startswith(tg_engine.text("help.text")) for h in helped)
    booked, lost_help = sorted(await _attempted_not_delivered(db), key=len)
    assert booked == "Your callback is booked."
    assert lost_help.startswith(tg_engine.text("help.text"))
    async with running(tg_engine, quick):  # nor after a restart
        await _enqueue(db, clock, 3203, "A probe.")
        await wait_until(lambda: fake_api.texts(3203), what="a round after the restart")
    assert fake_api.texts(3201) == ["Your callback is booked."]


async def test_a_message_being_sent_when_the_bot_died_is_not_sent_again(
    fake_api: FakeBotApi,
    tg_engine: Engine,
    tg_settings: Settings,
    db: Database,
    clock: FixedClock,
) -> None:
    """The sending journal beside the database says it was on its way: it may have
    arrived, so it is marked attempted and not sent; the others go out."""
    await _enqueue(db, clock, 3301, "On its way when the bot was killed.")
    await _enqueue(db, clock, 3301, "Not yet sent.")
    (row,) = await db.fetchall("SELECT id FROM outbox WHERE text LIKE 'On its way%'")
    journal = SendingJournal.beside(db.path)
    journal.path.write_text(f"+{row['id']}\n+99999\n-99999\n+12")  # the last line cut short
    async with running(tg_engine, tg_settings):
        await wait_until(lambda: fake_api.texts(3301), what="the other notice")
    assert fake_api.texts(3301) == ["Not yet sent."]
    assert await _attempted_not_delivered(db) == ["On its way when the bot was killed."]
    assert not journal.path.exists()  # settled, and cleared at the clean stop


async def test_a_notice_queued_by_another_process_on_postgres_goes_out_at_once(
    fake_api: FakeBotApi, pg_url: str, clock: FixedClock
) -> None:
    """On PostgreSQL a commit that queues a notice wakes the bot (LISTEN/NOTIFY): a notice
    a staff command queues from another process is sent long before the pusher's next
    round (a minute away here)."""
    from bot.assembly import create_engine
    from bot.config import load_settings

    settings = load_settings(db_path=pg_url).model_copy(
        update={"telegram": fast_telegram(fake_api.base_url, notice_poll_seconds=60)}
    )
    db, elsewhere = await Database.open(pg_url), await Database.open(pg_url)
    try:
        engine = await create_engine(settings, db, clock, pull_notices=frozenset())
        async with running(engine, settings):
            await asyncio.sleep(0.3)  # the pusher's first round is over: the next is far
            await _enqueue(elsewhere, clock, 3301, "An officer answered your request.")
            await wait_until(lambda: fake_api.texts(3301), within=10, what="the notice")
        assert fake_api.texts(3301) == ["An officer answered your request."]
    finally:
        await elsewhere.close()
        await db.close()
