"""Fixtures of the Telegram tests: a fake Bot API server, settings pointing at it, and the
real bot (`TelegramBot`, as `tierline telegram` builds it) running in the test's loop."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.telegram.app import TelegramBot
from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import Settings, TelegramSettings
from bot.engine import Engine
from bot.storage.database import Database
from tests.fake_bot_api import TOKEN, FakeBotApi, Sent, wait_until

STAFF_ID = 777


@pytest.fixture
def fake_api() -> Any:
    with FakeBotApi() as api:
        yield api


def fast_telegram(base_url: str, **overrides: Any) -> TelegramSettings:
    """Settings that keep tests quick: no pacing, short polls, short backoff."""
    values: dict[str, Any] = {
        "base_url": base_url,
        "per_chat_interval_seconds": 0,
        "poll_timeout": 1,
        "notice_poll_seconds": 0.1,
        "network_backoff_seconds": 0.05,
        "network_backoff_max_seconds": 0.2,
        "staff_user_ids": [STAFF_ID],
    }
    return TelegramSettings(**(values | overrides))


@pytest.fixture
def tg_settings(settings: Settings, fake_api: FakeBotApi) -> Settings:
    return settings.model_copy(update={"telegram": fast_telegram(fake_api.base_url)})


@pytest.fixture
async def tg_engine(tg_settings: Settings, db: Database, clock: FixedClock) -> Engine:
    return await create_engine(tg_settings, db, clock, pull_notices=frozenset())


@asynccontextmanager
async def running(engine: Engine, settings: Settings, **kw: Any) -> AsyncIterator[TelegramBot]:
    """The bot running until the block ends, then stopped the way SIGTERM stops it."""
    bot = TelegramBot(engine, settings, TOKEN, **kw)
    stop = asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    ready = asyncio.create_task(bot.ready.wait())
    await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()  # raises what went wrong at start
    assert bot.ready.is_set(), "the bot did not start"
    try:
        yield bot
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


@pytest.fixture
async def tg_bot(tg_engine: Engine, tg_settings: Settings) -> AsyncIterator[TelegramBot]:
    async with running(tg_engine, tg_settings) as bot:
        yield bot


class TelegramUser:
    """One person in a private chat with the bot, played through the fake server."""

    def __init__(self, api: FakeBotApi, user_id: int) -> None:
        self.api = api
        self.id = user_id
        self.presses: list[Press] = []

    async def send(self, text: str, *, expect: int = 1) -> list[Sent]:
        before = len(self.api.messages(self.id))
        self.api.user_sends(self.id, text)
        return await self.received(before, expect)

    async def press(self, message: Sent, data: str, *, expect: int = 1) -> list[Sent]:
        before = len(self.api.messages(self.id))
        update = self.api.user_presses(self.id, message.message_id, data)
        self.presses.append(Press(update["callback_query"]["id"], message))
        return await self.received(before, expect)

    async def tap(self, label: str, *, expect: int = 1) -> list[Sent]:
        """Press the button whose label contains `label` on the latest keyboard shown."""
        message = self.keyboard
        data = [d for text, d in message.buttons if label.lower() in text.lower()]
        assert data, f"no button like {label!r}; offered: {[t for t, _ in message.buttons]}"
        return await self.press(message, data[0], expect=expect)

    async def received(self, before: int, expect: int) -> list[Sent]:
        await wait_until(
            lambda: len(self.api.messages(self.id)) >= before + expect,
            what=f"{expect} message(s) to user {self.id}",
        )
        return self.api.messages(self.id)[before:]

    @property
    def last(self) -> Sent:
        return self.api.messages(self.id)[-1]

    @property
    def keyboard(self) -> Sent:
        """The latest message in this chat that still shows buttons."""
        shown = [m for m in self.api.messages(self.id) if m.buttons]
        assert shown, f"no message with buttons in chat {self.id}"
        return shown[-1]

    def assert_every_press_answered_and_its_keyboard_removed(self) -> None:
        """Each press stopped the client's spinner (answerCallbackQuery, accepted, before
        the reply) and the message it came from no longer shows buttons."""
        answers = {
            c.params.get("callback_query_id"): c for c in self.api.calls("answerCallbackQuery")
        }
        for press in self.presses:
            answer = answers.get(press.query_id)
            assert answer is not None and answer.status == 200, f"{press} not answered"
            replies = [m for m in self.api.messages(self.id) if m.at > press.message.at]
            assert replies and answer.at <= replies[0].at, f"{press} answered late"
            assert press.message.buttons == [], f"{press.message.text!r} kept its buttons"


@dataclass(frozen=True)
class Press:
    query_id: str
    message: Sent


async def book_callback(user: TelegramUser) -> str:
    """From the main menu to a booked officer callback by button presses, as an applicant
    who needs proof of status (urgent) in New York (ZIP 10278); returns the reference."""
    await user.tap("Talk to a person")
    await user.tap("I am the applicant")
    await user.tap("I need an in-person visit")
    await user.tap("Proof of status")
    *_, days = await user.tap("Yes, I have them")
    assert days.buttons[0] == ("Mon Nov 23, from 11:00 a.m.", "day:20261123"), days.buttons
    (times,) = await user.tap("Mon Nov 23")
    assert times.buttons[0] == ("11:00 a.m.", "slot:20261123T1100"), times.buttons
    await user.tap("11:00 a.m.")
    await user.send("(202) 555-0143")
    await user.send("10278")
    (booked,) = await user.tap("Yes, book it")
    match = re.search(r"Your reference is (CB-[A-Z0-9]{6})\.", booked.text)
    assert match, booked.text
    return match.group(1)


# ---- the real `python -m bot telegram` in a subprocess ----------------------------------


@dataclass
class BotProcess:
    """`python -m bot telegram` against the fake server; its log goes to a file (a pipe
    nobody reads would fill up and stop the bot)."""

    proc: subprocess.Popen[bytes]
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    async def exit_code(self, within: float) -> int:
        await wait_until(lambda: self.proc.poll() is not None, within=within, what="the exit")
        return int(self.proc.returncode)


def spawn_bot(api: FakeBotApi, db: Path | str, name: str, *args: str, **env: str) -> BotProcess:
    """Start the bot on `db` (a file or a PostgreSQL URL) with the fixed test clock; `args`
    are more command-line options (webhook mode), `env` adds TIERLINE_* settings. Its log
    goes beside the file, or to a folder of its own."""
    from tests.conftest import ROOT

    folder = db.parent if isinstance(db, Path) else Path(tempfile.mkdtemp(prefix="tierline-bot-"))
    log = folder / f"{name}.log"
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TIERLINE_TELEGRAM_TOKEN": TOKEN,
        "TIERLINE_TELEGRAM__POLL_TIMEOUT": "1",
        "TIERLINE_TELEGRAM__PER_CHAT_INTERVAL_SECONDS": "0",
        "TIERLINE_TELEGRAM__NOTICE_POLL_SECONDS": "0.2",
        "TIERLINE_TELEGRAM__NETWORK_BACKOFF_SECONDS": "0.1",
        "TIERLINE_TELEGRAM__NETWORK_BACKOFF_MAX_SECONDS": "0.5",
        **env,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "telegram",
                "--base-url",
                api.base_url,
                "--db",
                str(db),
                "--now",
                "2026-11-23T10:00",
                *args,
            ],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    return BotProcess(proc, log)
