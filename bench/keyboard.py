"""Update to keyboard: how long an applicant waits, on Telegram, for the buttons they need.

    python bench/keyboard.py [--interval 1.0] [--rounds 3]

The real bot (python-telegram-bot, the per-chat pacing of `telegram.per_chat_interval_
seconds`) runs against the fake Bot API of `tests/fake_bot_api.py` on 127.0.0.1. One
applicant goes from /start to the officer's callback times (Talk to a person, the
applicant, an in-person visit, proof of status, documents in hand), pressing each button
once the turn before has finished sending. For every turn it prints the messages sent and
the time from the update to the message that carries the keyboard. Compare two trees by
running each tree's copy.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from telegram_vs_echo import JOURNEY  # the same journey, typed by its button labels

from bot.adapters.telegram.app import TelegramBot
from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import TelegramSettings, load_settings
from bot.storage.database import Database
from tests.fake_bot_api import TOKEN, FakeBotApi

USER = 4242


async def _keyboard_after(api: FakeBotApi, before: int, quiet: float) -> tuple[float, int]:
    """When the turn's keyboard arrived (monotonic) and how many messages the turn sent:
    the turn is over once a message with buttons came and nothing followed for `quiet`."""
    while True:
        sent = api.messages(USER)[before:]
        if sent and sent[-1].buttons and time.monotonic() - sent[-1].at > quiet:
            return sent[-1].at, len(sent)
        await asyncio.sleep(0.005)


async def one_round(interval: float) -> list[tuple[str, int, float]]:
    with tempfile.TemporaryDirectory() as tmp, FakeBotApi() as api:
        settings = load_settings(db_path=Path(tmp) / "kb.db")
        telegram = TelegramSettings(
            base_url=api.base_url, per_chat_interval_seconds=interval, poll_timeout=1
        )
        settings = settings.model_copy(update={"telegram": telegram})
        db = await Database.open(settings.db_path)
        clock = FixedClock(datetime(2026, 11, 23, 10, 0), settings.tz)
        engine = await create_engine(settings, db, clock, pull_notices=frozenset())
        bot = TelegramBot(engine, settings, TOKEN)
        stop = asyncio.Event()
        task = asyncio.create_task(bot.run(stop))
        await asyncio.wait_for(bot.ready.wait(), 10)
        results = []
        try:
            for step in JOURNEY:
                before = len(api.messages(USER))
                if step.startswith("/"):
                    started = time.monotonic()
                    api.user_sends(USER, step)
                else:
                    keyboard = [m for m in api.messages(USER) if m.buttons][-1]
                    data = next(d for label, d in keyboard.buttons if step in label)
                    started = time.monotonic()
                    api.user_presses(USER, keyboard.message_id, data)
                at, count = await _keyboard_after(api, before, quiet=interval + 0.3)
                results.append((step, count, at - started))
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
            await db.close()
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=1.0, help="per-chat pacing, seconds")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds = [asyncio.run(one_round(args.interval)) for _ in range(args.rounds)]
    print(f"per-chat interval {args.interval:.1f} s; median of {args.rounds} rounds")
    for i, step in enumerate(JOURNEY):
        counts = {r[i][1] for r in rounds}
        waits = [r[i][2] for r in rounds]
        print(
            f"  {step:28} messages {'/'.join(map(str, sorted(counts))):5}"
            f" update to keyboard {statistics.median(waits) * 1000:6.0f} ms"
        )
    worst = max(statistics.median(r[i][2] for r in rounds) for i in range(len(JOURNEY)))
    print(f"  worst turn: {worst * 1000:.0f} ms")


if __name__ == "__main__":
    main()
