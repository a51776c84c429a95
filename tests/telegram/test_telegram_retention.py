"""The retention policy runs inside `tierline telegram`: at start, old transcripts, the
transition log and idle conversations are purged while the bot keeps answering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, jsonl
from tests.fake_bot_api import TOKEN, FakeBotApi, wait_until
from tests.pg_server import database_location, run_sql
from tests.telegram.conftest import TelegramUser


def _count(db: Path | str, sql: str) -> int:
    return int(str(run_sql(db, sql)[0][0]))


def _spawn(api: FakeBotApi, db: Path | str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TIERLINE_TELEGRAM_TOKEN": TOKEN,
        "TIERLINE_TELEGRAM__POLL_TIMEOUT": "1",
        "TIERLINE_TELEGRAM__PER_CHAT_INTERVAL_SECONDS": "0",
        "TIERLINE_LOG_LEVEL": "INFO",
    }
    command = ["telegram", "--base-url", api.base_url, "--db", str(db)]
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *command, "--now", "2026-11-23T10:00"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def test_the_running_bot_purges_what_the_policy_expires(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    db = database_location(tmp_path, "bot.db")
    jsonl("--db", str(db), "--user", "old", "--now", "2026-09-01T10:00", lines=["/start", "/agent"])
    assert _count(db, "SELECT COUNT(*) FROM turns") == 2
    proc = _spawn(fake_api, db)
    try:
        await wait_until(
            lambda: (
                _count(db, "SELECT COUNT(*) FROM conversations WHERE user_id = 'old'") == 0
                or proc.poll() is not None
            ),
            within=20,
            what="the purge at start",
        )
        assert proc.poll() is None
        assert _count(db, "SELECT COUNT(*) FROM turns WHERE user_id = 'old'") == 0
        assert _count(db, "SELECT COUNT(*) FROM transitions WHERE user_id = 'old'") == 0

        user = TelegramUser(fake_api, 6101)  # and the bot answers meanwhile
        await user.send("/start")
        await wait_until(
            lambda: _count(db, "SELECT COUNT(*) FROM turns WHERE user_id = '6101'") == 1,
            within=10,
            what="the new turn to be kept",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        await wait_until(lambda: proc.poll() is not None, within=20, what="the bot to exit")
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 0, stderr
    assert "retention: deleted 2 turns" in stderr and "Traceback" not in stderr
