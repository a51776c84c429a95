"""SIGTERM stops `python -m bot telegram` within 10 s whatever Telegram does and however
much is waiting, and what was not done stays in the database for the next start."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.engine import ConversationKey, Reply
from bot.storage import outbox
from bot.storage.database import Database
from tests.conftest import MONDAY_10AM
from tests.fake_bot_api import FakeBotApi, wait_until
from tests.pg_server import database_location, run_sql
from tests.telegram.conftest import spawn_bot

NOTICE_CHATS = range(8001, 8061)  # 60 chats with 5 notices each
UPDATES = 3000  # from 300 chats


async def _queue_notices(db_path: Path | str) -> None:
    from bot.config import load_settings

    at = MONDAY_10AM.replace(tzinfo=load_settings().tz)
    async with await Database.open(db_path) as db:
        await db.commit(
            [
                outbox.enqueue(
                    ConversationKey("telegram", str(chat)),
                    "callback.reminder",
                    Reply(f"Notice {n} for {chat}."),
                    now=at,
                )
                for chat in NOTICE_CHATS
                for n in range(5)
            ]
        )


def _query(db_path: Path | str, sql: str) -> list[tuple[object, ...]]:
    return run_sql(db_path, sql)


async def test_sigterm_under_an_outage_with_a_backlog_stops_within_ten_seconds(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    db = database_location(tmp_path, "bot.db")
    await _queue_notices(db)
    ids = [fake_api.user_sends(9001 + n % 300, "/help")["update_id"] for n in range(UPDATES)]
    # Telegram takes every message and never answers (the worst outage: each send waits
    # out its timeout, and may have arrived).
    fake_api.outage("hang", seconds=300, delay=120)

    bot = spawn_bot(fake_api, db, "outage")
    await wait_until(
        lambda: len(fake_api.calls("sendMessage")) >= 20 or bot.proc.poll() is not None,
        within=30,
        what="sends to be under way",
    )
    await asyncio.sleep(1)
    bot.proc.terminate()
    signalled = time.monotonic()
    code = await bot.exit_code(30)
    took = time.monotonic() - signalled
    assert code == 0, bot.stderr()
    assert took < 10, f"SIGTERM took {took:.1f} s"
    assert "Traceback" not in bot.stderr()

    # Nothing was lost: every update Telegram forgot is in the inbox, done or waiting.
    confirmed = [i for i in ids if i < fake_api.confirmed_offset]
    stored = {row[0] for row in _query(db, "SELECT update_id FROM telegram_inbox")}
    assert set(confirmed) <= stored
    (waiting,) = _query(db, "SELECT COUNT(*) FROM telegram_inbox WHERE done_at IS NULL")[0]
    assert int(waiting) > 0  # the backlog was not drained before stopping
    # The notices are in the outbox: those never tried are due as before; those cut or
    # timed out on their way may have arrived and are marked so (never sent twice).
    rows = _query(
        db,
        "SELECT text, delivered_at IS NOT NULL, attempted_at IS NOT NULL FROM outbox"
        " WHERE kind = 'callback.reminder'",
    )
    tried = {c.params["text"] for c in fake_api.calls("sendMessage")}
    assert len(rows) == 300 and not any(delivered for _, delivered, _ in rows)
    assert {text for text, _, attempted in rows if attempted} <= tried
    due = [text for text, _, attempted in rows if not attempted]
    assert {text for text, *_ in rows} - tried <= set(due)  # never tried: still due

    # The next start, Telegram back: the kept work goes on, and SIGTERM is as quick.
    fake_api.end_outages()
    sent_before = len(fake_api.messages())
    again = spawn_bot(fake_api, db, "after")
    await wait_until(lambda: len(fake_api.messages()) > sent_before + 60, within=30, what="work")
    again.proc.terminate()
    signalled = time.monotonic()
    assert await again.exit_code(30) == 0, again.stderr()
    assert time.monotonic() - signalled < 10
    texts = [m.text for m in fake_api.messages() if m.text.startswith("Notice ")]
    assert texts and len(texts) == len(set(texts))  # none twice
    print(
        f"\nSIGTERM under a hanging outage with a backlog of {UPDATES} updates: {took:.1f} s;"
        f" {int(waiting)} updates kept in the inbox, {len(due)} of 300 notices still due"
    )
