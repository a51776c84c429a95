"""Sending under pressure: 429 answers, server errors, dropped connections, pacing."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

from bot.adapters.telegram.app import TelegramBot
from bot.adapters.telegram.sender import failure
from bot.config import Settings
from bot.engine import Engine
from tests.conftest import Chat
from tests.fake_bot_api import TOKEN, FakeBotApi, wait_until
from tests.telegram.conftest import TelegramUser, fast_telegram, running


async def _expected(chat: Chat, *texts: str) -> list[str]:
    return [r.text for text in texts for r in (await chat.send(text)).replies]


async def test_after_a_burst_of_429s_every_reply_arrives_once_and_in_order(
    fake_api: FakeBotApi, tg_bot: TelegramBot, chat: Chat
) -> None:
    inputs = ("/start", "/help", "/menu", "/cancel")
    expected = await _expected(chat, *inputs)
    fake_api.fail("sendMessage", "429", times=4, retry_after=0.3)
    user = TelegramUser(fake_api, 2001)
    for text in inputs:
        fake_api.user_sends(user.id, text)
    await wait_until(
        lambda: len(fake_api.texts(user.id)) >= len(expected), within=20, what="every reply"
    )
    refused = [c for c in fake_api.calls("sendMessage") if c.status == 429]
    assert len(refused) == 4
    assert fake_api.texts(user.id) == expected  # once each, in order
    # Nothing was accepted before the last 429's retry_after had passed.
    assert fake_api.messages(user.id)[0].at >= refused[-1].at + 0.3


async def test_without_the_rate_limiter_a_429_backs_the_chat_off_and_every_reply_arrives_once(
    fake_api: FakeBotApi, tg_engine: Engine, tg_settings: Settings, chat: Chat
) -> None:
    """`telegram.rate_limiter = false` (for a Bot API server without Telegram's limits)
    leaves python-telegram-bot's limiter out; a 429 is then the chat's failure to back off
    from, and nothing is lost or doubled."""
    shipped = TelegramBot(tg_engine, tg_settings, TOKEN)
    assert isinstance(shipped.application.bot.rate_limiter, AIORateLimiter)
    off = tg_settings.model_copy(
        update={"telegram": fast_telegram(fake_api.base_url, rate_limiter=False)}
    )
    inputs = ("/start", "/help", "/menu")
    expected = await _expected(chat, *inputs)
    async with running(tg_engine, off) as bot:
        assert bot.application.bot.rate_limiter is None
        fake_api.fail("sendMessage", "429", times=2, retry_after=0.2)
        user = TelegramUser(fake_api, 2003)
        for text in inputs:
            fake_api.user_sends(user.id, text)
        await wait_until(
            lambda: len(fake_api.texts(user.id)) >= len(expected), within=20, what="every reply"
        )
        assert fake_api.texts(user.id) == expected  # once each, in order
        assert [c.fault for c in fake_api.calls("sendMessage")][:2] == ["429", "429"]


async def test_server_errors_are_retried_until_delivered(
    fake_api: FakeBotApi, tg_bot: TelegramBot, chat: Chat
) -> None:
    expected = await _expected(chat, "/help")
    fake_api.fail("sendMessage", "500", times=2)
    user = TelegramUser(fake_api, 2002)
    await user.send("/help")
    assert fake_api.texts(user.id) == expected
    assert [c.fault for c in fake_api.calls("sendMessage")] == ["500", "500", None]


async def test_a_connection_dropped_after_the_request_is_not_sent_again(
    fake_api: FakeBotApi, tg_bot: TelegramBot, chat: Chat
) -> None:
    """Once the request is out, a dropped connection says nothing about the message: it
    may have been delivered (see test_telegram_notices), so it is not sent blindly again.
    Here the fake dropped it before carrying it out: that one reply is missing, the next
    one arrives."""
    expected = await _expected(chat, "/help")
    fake_api.fail("sendMessage", "drop")
    user = TelegramUser(fake_api, 2005)
    fake_api.user_sends(user.id, "/help")
    await wait_until(lambda: fake_api.calls("sendMessage"), what="the dropped send")
    await user.send("/help")
    assert fake_api.texts(user.id) == expected
    assert [c.fault for c in fake_api.calls("sendMessage")] == ["drop", None]


async def test_one_chat_gets_about_one_message_per_interval(
    fake_api: FakeBotApi, settings: Settings, tg_engine: Engine
) -> None:
    paced = settings.model_copy(
        update={"telegram": fast_telegram(fake_api.base_url, per_chat_interval_seconds=0.4)}
    )
    async with running(tg_engine, paced):
        fake_api.user_sends(2003, "/start")  # two turns in one chat: two messages
        fake_api.user_sends(2003, "/help")
        fake_api.user_sends(2004, "/help")
        await wait_until(
            lambda: len(fake_api.texts(2003)) == 2 and fake_api.texts(2004),
            what="all three replies",
        )
    first, second = fake_api.messages(2003)
    (other,) = fake_api.messages(2004)
    assert second.at - first.at >= 0.35
    assert other.at < second.at  # another chat is not held up by this chat's pacing


@pytest.mark.parametrize(
    ("error", "cause", "uncertain"),
    [
        (NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("refused"), False),
        (TimedOut(), httpx.ConnectTimeout("no connection"), False),
        (TimedOut("pool"), httpx.PoolTimeout("pool full"), False),
        (NetworkError("Internal Server Error (500)"), None, False),  # Telegram answered
        (TimedOut(), httpx.ReadTimeout("no answer"), True),
        (TimedOut(), httpx.WriteTimeout("half sent"), True),
        (NetworkError("httpx.RemoteProtocolError"), httpx.RemoteProtocolError("gone"), True),
    ],
)
def test_what_a_failed_request_says_about_its_message(
    error: NetworkError, cause: Exception | None, uncertain: bool
) -> None:
    """Sent again only when it certainly did not arrive: an error answer, or a connection
    never made. Once the request is out, no answer means it may have arrived."""
    error.__cause__ = cause
    failed = failure(error)
    assert failed.uncertain is uncertain
    assert not failed.permanent


def test_a_refusal_is_permanent() -> None:
    assert failure(Forbidden("Forbidden: bot was blocked by the user")).permanent
    assert failure(BadRequest("Bad Request: chat not found")).permanent


def test_a_message_is_recorded_as_sent_at_the_socket(tg_bot: TelegramBot) -> None:
    """Where nothing can run between the record and the write to the socket (see
    sender.RecordingRequest): with this httpx, and no proxy, that is where it happens."""
    assert tg_bot.request.at_socket


async def test_every_answer_is_one_message_and_its_keyboard_comes_within_one_interval(
    fake_api: FakeBotApi, settings: Settings, tg_engine: Engine
) -> None:
    """With about one message per second per chat, an answer of five paragraphs (the
    escalation to Tier 2) used to put its times on the fifth message, four intervals late.
    Now each answer is one message, and the keyboard the applicant waits for arrives
    within one pacing interval of their press, even pressing the moment it appears."""
    interval = 0.5
    paced = settings.model_copy(
        update={"telegram": fast_telegram(fake_api.base_url, per_chat_interval_seconds=interval)}
    )
    user = TelegramUser(fake_api, 2005)
    async with running(tg_engine, paced):
        waits = []
        sent_at = time.monotonic()
        (menu,) = await user.send("/start")
        waits.append(menu.at - sent_at)
        for label in (
            "Talk to a person",
            "I am the applicant",
            "I need an in-person visit",
            "Proof of status",
            "Yes, I have them",
        ):
            sent_at = time.monotonic()
            (answer,) = await user.tap(label)  # exactly one message per answer
            assert answer.buttons, label
            waits.append(answer.at - sent_at)
        await asyncio.sleep(interval)  # nothing more was on its way
    assert len(fake_api.messages(user.id)) == 6
    assert answer.buttons[0][1].startswith("day:")  # the days with room: what comes next
    assert max(waits) < interval + 0.25, waits
