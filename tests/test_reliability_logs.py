"""Reliability of the logs: the libraries' records go through the same masking as ours, and
a flood of identical records is collapsed into a bounded number of lines.

The flood runs in a subprocess set up exactly as the CLI sets up logging (`setup_logging`),
with python-telegram-bot failing for real on an update it cannot parse (served by the fake
Bot API), and tight loops of identical CRITICAL records through the libraries' loggers.
"""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import textwrap

from bot.logs import LimitingHandler, MaskingFormatter, mask
from tests.conftest import ROOT

PERSONAL = ["Maria", "Lopez", "mlopez", "617-555-0123", "6175550123", "EAC2190000001"]
TOKEN_LIKE = "987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

FLOOD = textwrap.dedent(
    """
    import asyncio, logging, sys
    from telegram import Bot
    from bot.logs import setup_logging
    from tests.fake_bot_api import TOKEN, FakeBotApi

    # A library that brought its own handler would bypass the masking: it is taken away.
    logging.getLogger("httpx").addHandler(logging.StreamHandler(sys.stderr))
    setup_logging("WARNING")

    PERSON = {"id": 7, "is_bot": False, "first_name": "Maria", "last_name": "Lopez",
              "username": "mlopez"}
    TEXT = "my receipt EAC2190000001, call me at 617-555-0123"

    async def ptb_fails_to_parse(times):
        with FakeBotApi() as api:
            api._queue({"message": {"message_id": 1, "date": 0, "chat": {"id": 7},
                                    "from": PERSON, "text": TEXT}})  # chat without a type
            async with Bot(TOKEN, base_url=api.base_url + "/bot") as bot:
                for _ in range(times):
                    try:
                        await bot.get_updates(timeout=0)
                    except Exception:
                        pass

    asyncio.run(ptb_fails_to_parse(50))
    update = {"update_id": 1, "message": {"from": PERSON, "text": TEXT}}
    for name in ("telegram.ext.Updater", "httpx", "aiosqlite", "asyncio"):
        log = logging.getLogger(name)
        for _ in range(2000):
            log.critical("could not handle %r (phone 6175550123, %s)", update, "TOKEN_LIKE")
    """
).replace("TOKEN_LIKE", TOKEN_LIKE)

_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ")


def test_a_flood_of_library_records_is_bounded_and_masked() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", FLOOD],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    err = proc.stderr.decode()
    lines = err.splitlines()
    records = [line for line in lines if _RECORD.match(line)]
    # 50 + 4 × 2,000 records in: 5 of each kind written, then one summary line each.
    assert len(records) == 5 * 5 + 5, records
    assert len(lines) < 400, "tracebacks included, the output stays small"
    summaries = [line for line in records if "suppressed" in line]
    counts = sorted(int(re.findall(r"suppressed (\d+)", s)[0]) for s in summaries)
    assert counts == [45, 1995, 1995, 1995, 1995]
    assert {s.split()[3] for s in summaries} == {
        "telegram.Bot:",
        "telegram.ext.Updater:",
        "httpx:",
        "aiosqlite:",
        "asyncio:",
    }
    for value in [*PERSONAL, TOKEN_LIKE]:
        assert value not in err, f"{value!r} reached the log"
    assert "'first_name': '***'" in err and "'text': '***'" in err


def test_a_repeated_record_comes_back_after_the_window_with_a_count() -> None:
    now = [0.0]
    stream = io.StringIO()
    handler = LimitingHandler(stream, repeats=2, window=10, clock=lambda: now[0])
    handler.setFormatter(MaskingFormatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("tests.reliability.flood")
    log.propagate = False
    log.addHandler(handler)
    try:
        for i in range(100):
            log.error("send to %s failed", f"617-555-01{i % 100:02d}")
        log.warning("something else")  # another record: not held back by the flood
        now[0] = 11.0
        log.error("send to %s failed", "617-555-0199")
    finally:
        log.removeHandler(handler)
        handler.close()
    assert stream.getvalue().splitlines() == [
        "ERROR tests.reliability.flood: send to ***-***-**00 failed",
        "ERROR tests.reliability.flood: send to ***-***-**01 failed",
        "WARNING tests.reliability.flood: something else",
        "ERROR tests.reliability.flood: suppressed 98 similar messages (more than 2 in 10 s): "
        "send to %s failed",
        "ERROR tests.reliability.flood: send to ***-***-**99 failed",
    ]


def test_masking_covers_personal_fields_in_any_notation() -> None:
    masked = mask(
        "{'first_name': 'Ann', \"last_name\": \"O'Hara\", 'username': \"a'b\"} "
        "User(first_name='Ann', username='ann_h') "
        "POST https://api.telegram.org/bot987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe"
    )
    assert "Ann" not in masked and "O'Hara" not in masked and "ann_h" not in masked
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in masked
    assert "'first_name': '***'" in masked and "first_name='***'" in masked
