"""A live operator chat through the real Telegram stack: `tierline telegram` as a process
against the fake Bot API, an applicant's chat and an operator's chat, and a restart of the
bot in the middle of the relay: no message is lost and none arrives twice."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.fake_bot_api import TOKEN, FakeBotApi, wait_until
from tests.pg_server import database_location
from tests.telegram.conftest import TelegramUser

NOW = "2026-11-23T10:00"  # Monday, inside live hours
OPERATOR_ID = 777


def _spawn(api: FakeBotApi, db: Path | str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TIERLINE_TELEGRAM_TOKEN": TOKEN,
        "TIERLINE_TELEGRAM__POLL_TIMEOUT": "1",
        "TIERLINE_TELEGRAM__PER_CHAT_INTERVAL_SECONDS": "0",
        "TIERLINE_TELEGRAM__NOTICE_POLL_SECONDS": "0.2",
        "TIERLINE_TELEGRAM__STAFF_USER_IDS": f"[{OPERATOR_ID}]",
    }
    command = ("telegram", "--base-url", api.base_url, "--db", str(db), "--now", NOW)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def _started(api: FakeBotApi, proc: subprocess.Popen[bytes]) -> None:
    polls = len(api.calls("getUpdates"))
    await wait_until(
        lambda: len(api.calls("getUpdates")) > polls or proc.poll() is not None,
        within=20,
        what="the bot to start polling",
    )
    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""


async def _stopped(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    await wait_until(lambda: proc.poll() is not None, within=20, what="the bot to exit")
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 0 and "Traceback" not in stderr, stderr


async def test_a_live_chat_survives_a_restart_without_losing_or_repeating_a_message(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    db = database_location(tmp_path, "bot.db")
    applicant, operator = TelegramUser(fake_api, 6101), TelegramUser(fake_api, OPERATOR_ID)
    applicant_got = lambda: fake_api.texts(applicant.id)  # noqa: E731
    operator_got = lambda: fake_api.texts(OPERATOR_ID)  # noqa: E731

    first = _spawn(fake_api, db)
    try:
        await _started(fake_api, first)
        (refused,) = await applicant.send("/pick LC-AAAAAA")  # not on the staff allowlist
        assert refused.text == "Sorry, that command is for Contact Center staff only."
        await applicant.send("/start")
        await applicant.tap("Talk to a person")
        await applicant.tap("I am the applicant")
        (answer,) = await applicant.tap("I moved")  # one message per answer
        assert ("Chat with an operator now", "nav:operator") in answer.buttons
        (queued,) = await applicant.tap("Chat with an operator now")
        assert "number 1 in the queue" in queued.text
        (kept,) = await applicant.send("My green card must go to my new address.")
        assert "kept for the operator" in kept.text

        (listing,) = await operator.send("/chats")
        assert listing.text.startswith("Waiting for an operator (1):")
        match = re.search(r"LC-[A-Z0-9]{6}", listing.text)
        assert match, listing.text
        reference = match.group(0)
        before = len(applicant_got())
        (picked,) = await operator.send(f"/pick {reference.lower()}")
        assert picked.text.startswith(f"You are chatting with {reference}")
        assert "Applicant: My green card must go to my new address." in picked.text
        name = picked.text.split(" as ", 1)[1].split(".", 1)[0]
        (joined,) = await applicant.received(before, 1)  # pushed: the applicant said nothing
        assert joined.text.startswith(f"Assistant: {name} has joined the chat")

        await applicant.send("Hello?", expect=0)  # to the operator, not to the assistant
        await wait_until(
            lambda: f"{reference} · Applicant: Hello?" in operator_got(), what="the relay"
        )
        await operator.send("Hi, I am checking your file now.", expect=0)
        await wait_until(
            lambda: f"{name}: Hi, I am checking your file now." in applicant_got(),
            what="the operator's reply",
        )

        # The restart, in the middle of the relay: the bot stops while a message is on its
        # way to the operator (Telegram has just refused it once), and both people write
        # while it is down.
        fake_api.fail("sendMessage", "500", chat_id=OPERATOR_ID)
        fake_api.user_sends(applicant.id, "One: my old address was in Ohio.")
        await wait_until(
            lambda: any(c.fault == "500" for c in fake_api.calls("sendMessage")),
            what="the relay to be on its way",
        )
    finally:
        await _stopped(first)
    fake_api.user_sends(OPERATOR_ID, "Two: thank you, noted.")
    fake_api.user_sends(applicant.id, "Three: are you still there?")

    second = _spawn(fake_api, db)
    try:
        await _started(fake_api, second)
        await wait_until(
            lambda: (
                f"{reference} · Applicant: Three: are you still there?" in operator_got()
                and f"{name}: Two: thank you, noted." in applicant_got()
            ),
            within=15,
            what="the messages written around the restart",
        )
        (handed,) = await operator.send("/handback")
        assert handed.text == f"{reference} is back with the assistant."
        await wait_until(
            lambda: any("has handed you back to me" in t for t in applicant_got()),
            what="the hand-back",
        )
        (late,) = await operator.send(f"/say {reference} Sorry, one more thing")
        assert late.text == f"{reference} was handed back to the assistant; nothing was sent."
        after = len(applicant_got())
        menu = (await applicant.send("/menu"))[-1]  # back with the assistant
    finally:
        await _stopped(second)

    relayed_to_operator = [t for t in operator_got() if " · Applicant: " in t]
    assert relayed_to_operator == [
        f"{reference} · Applicant: Hello?",
        f"{reference} · Applicant: One: my old address was in Ohio.",
        f"{reference} · Applicant: Three: are you still there?",
    ]
    from_operator = [t for t in applicant_got() if t.startswith(f"{name}: ")]
    assert from_operator == [
        f"{name}: Hi, I am checking your file now.",
        f"{name}: Two: thank you, noted.",
    ]
    assert all("one more thing" not in t for t in applicant_got()[after:])
    assert menu.text.startswith("What would you like to do?")
    # The applicant's text never reached the assistant's steps, and the operator's text never
    # reached the operator's own conversation with the assistant.
    assert not any("I can't take that as an answer" in t for t in applicant_got())
    assert not any("I can't take that as an answer" in t for t in operator_got())
