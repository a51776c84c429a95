"""Webhook mode: Telegram's requests must carry the secret token; others are refused."""

from __future__ import annotations

import asyncio
import socket

import httpx

from bot.config import Settings
from bot.engine import Engine
from tests.fake_bot_api import FakeBotApi, wait_until
from tests.telegram.conftest import fast_telegram, running

SECRET = "s3cret_Token-for-tests"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_webhook_request_without_the_secret_token_is_refused(
    fake_api: FakeBotApi, settings: Settings, tg_engine: Engine
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    hooked = settings.model_copy(
        update={
            "telegram": fast_telegram(
                fake_api.base_url,
                webhook_url=url,
                webhook_listen="127.0.0.1",
                webhook_port=port,
                webhook_secret_token=SECRET,
            )
        }
    )
    update = fake_api.make_update(message=fake_api.make_message(5001, text="/help"))
    async with running(tg_engine, hooked), httpx.AsyncClient() as client:
        assert fake_api.webhook["url"] == url
        assert fake_api.webhook["secret_token"] == SECRET
        refused = [
            await client.post(url, json=update),
            await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            ),
        ]
        await asyncio.sleep(0.3)
        assert fake_api.texts(5001) == []  # neither request reached the engine
        accepted = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        await wait_until(lambda: fake_api.texts(5001), what="the reply to the real request")
    assert [r.status_code for r in refused] == [403, 403]
    assert accepted.status_code == 200
    (helped,) = fake_api.texts(5001)
    assert helped.startswith(tg_engine.text("help.text"))
    assert fake_api.calls("getUpdates") == []  # no long polling in webhook mode
