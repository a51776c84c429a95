"""`tierline telegram` as a real process against the fake Bot API: start, a conversation
across a restart on the same database, SIGTERM with a turn in flight, and the refusals at
start-up (no token, a webhook without a secret)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.config import load_settings
from bot.messages import Catalogue
from tests.conftest import ROOT, run_cli
from tests.fake_bot_api import TOKEN, FakeBotApi, wait_until
from tests.pg_server import database_location
from tests.telegram.conftest import TelegramUser

NOW = "2026-11-23T10:00"


def _spawn(api: FakeBotApi, db: Path | str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TIERLINE_TELEGRAM_TOKEN": TOKEN,
        "TIERLINE_TELEGRAM__POLL_TIMEOUT": "1",
        "TIERLINE_TELEGRAM__PER_CHAT_INTERVAL_SECONDS": "0",
        "TIERLINE_TELEGRAM__NOTICE_POLL_SECONDS": "0.2",
    }
    return subprocess.Popen(
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
            NOW,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def _started(api: FakeBotApi, proc: subprocess.Popen[bytes], polls_before: int) -> None:
    await wait_until(
        lambda: len(api.calls("getUpdates")) > polls_before or proc.poll(),
        within=20,
        what="the bot to start polling",
    )
    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""


async def _terminate(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    await wait_until(lambda: proc.poll() is not None, within=20, what="the bot to exit")
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    return stderr


async def test_a_conversation_survives_a_restart_and_sigterm_finishes_the_turn_in_flight(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    texts = Catalogue.load(load_settings().config_dir / "messages")
    db = database_location(tmp_path, "bot.db")
    user = TelegramUser(fake_api, 6001)

    first = _spawn(fake_api, db)
    try:
        await _started(fake_api, first, 0)
        # one menu for every language, and one per other language (language_code=es)
        registered, spanish = fake_api.calls("setMyCommands")
        assert [c["command"] for c in registered.params["commands"]] == [
            "start",
            "menu",
            "status",
            "mine",
            "help",
            "cancel",
            "agent",
            "language",
            "watch",
            "cases",
            "unwatch",
            "alerts",
        ]
        assert spanish.params["language_code"] == "es"
        assert fake_api.commands("es")["menu"] == "Mostrar el menú principal"
        assert fake_api.commands("")["menu"] == "Show the main menu"
        (menu,) = await user.send("/start")
        assert menu.text.endswith(texts.text("menu.prompt"))  # greeting and menu, one message
        await user.press(menu, "nav:agent")  # to Tier 1: the middle of a conversation
        # A reply still on its way when SIGTERM comes is delivered before the exit.
        fake_api.fail("sendMessage", "slow", delay=1.0)
        fake_api.user_sends(user.id, "/help")
        await wait_until(
            lambda: any(c.fault == "slow" for c in fake_api.calls()),
            what="the slow reply to be on its way",
        )
    finally:
        await _terminate(first)
    assert fake_api.texts(user.id)[-1].startswith(texts.text("help.text"))

    second = _spawn(fake_api, db)
    try:
        await _started(fake_api, second, len(fake_api.calls("getUpdates")))
        (reply,) = await user.send("/agent")
    finally:
        await _terminate(second)
    assert reply.text.startswith(texts.text("agent.already_with_person"))  # still with Tier 1
    helped = [t for t in fake_api.texts(user.id) if t.startswith(texts.text("help.text"))]
    assert len(helped) == 1  # not handled twice


def test_without_a_token_it_says_how_to_get_one() -> None:
    proc = run_cli("telegram", env={"TIERLINE_TELEGRAM_TOKEN": ""})
    stderr = proc.stderr.decode()
    assert proc.returncode != 0
    assert "BotFather" in stderr and "TIERLINE_TELEGRAM_TOKEN" in stderr
    assert "Traceback" not in stderr


def test_webhook_mode_without_a_secret_token_does_not_start(tmp_path: Path) -> None:
    proc = run_cli(
        "telegram",
        "--webhook-url",
        "https://bot.example.org/hook",
        "--db",
        str(tmp_path / "x.db"),
        env={"TIERLINE_TELEGRAM_TOKEN": TOKEN},
    )
    stderr = proc.stderr.decode()
    assert proc.returncode == 2
    assert "secret" in stderr and "Traceback" not in stderr


def test_a_wrong_token_is_reported_clearly(fake_api: FakeBotApi, tmp_path: Path) -> None:
    proc = run_cli(
        "telegram",
        "--base-url",
        fake_api.base_url,
        "--db",
        str(tmp_path / "x.db"),
        env={"TIERLINE_TELEGRAM_TOKEN": "999:not-the-token"},
    )
    stderr = proc.stderr.decode()
    assert proc.returncode == 2
    assert "refused the token" in stderr and "Traceback" not in stderr
    assert "not-the-token" not in stderr  # the token itself is never printed


def test_the_command_line_loads_telegram_code_only_for_the_bot() -> None:
    check = (
        "import sys, bot.cli; bot.cli.build_parser(); "
        "assert 'telegram' not in sys.modules, 'telegram was imported'"
    )
    proc = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
