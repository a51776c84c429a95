"""Webhook mode: Telegram's requests must carry the secret token; others are refused. An
update is answered 200 only once it is stored, and handled once however often it comes."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.engine import Engine
from tests.conftest import Chat
from tests.fake_bot_api import FakeBotApi, wait_until
from tests.pg_server import run_sql, run_sql_beside
from tests.telegram.conftest import fast_telegram, running

SECRET = "s3cret_Token-for-tests"
_JSON = {"Content-Type": "application/json"}


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


def _hooked(settings: Settings, fake_api: FakeBotApi) -> tuple[Settings, str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    return settings.model_copy(
        update={
            "telegram": fast_telegram(
                fake_api.base_url,
                webhook_url=url,
                webhook_listen="127.0.0.1",
                webhook_port=port,
                webhook_secret_token=SECRET,
            )
        }
    ), url


def _in_inbox(db_path: Path | str, update_id: int) -> bool:
    return bool(run_sql(db_path, f"SELECT 1 FROM telegram_inbox WHERE update_id = {update_id}"))


async def test_the_answer_200_comes_only_once_the_update_is_stored(
    fake_api: FakeBotApi, settings: Settings, tg_engine: Engine
) -> None:
    hooked, url = _hooked(settings, fake_api)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    first = fake_api.make_update(message=fake_api.make_message(5501, text="/help"))
    second = fake_api.make_update(message=fake_api.make_message(5501, text="/menu"))
    async with running(tg_engine, hooked), httpx.AsyncClient() as client:
        accepted = await client.post(url, json=first, headers=headers)
        stored_by_then = _in_inbox(settings.db_path, first["update_id"])
        await wait_until(lambda: fake_api.texts(5501), what="the first reply")
        # Storing fails from now on.
        await run_sql_beside(
            settings.db_path, "ALTER TABLE telegram_inbox RENAME TO inbox_elsewhere"
        )
        refused = await client.post(url, json=second, headers=headers)
        await run_sql_beside(
            settings.db_path, "ALTER TABLE inbox_elsewhere RENAME TO telegram_inbox"
        )
        # Telegram posts again what was not answered 200; and may repeat one that was.
        again = [await client.post(url, json=u, headers=headers) for u in (second, first)]
        await wait_until(lambda: len(fake_api.texts(5501)) >= 2, what="both replies")
        await asyncio.sleep(0.3)
    assert accepted.status_code == 200 and stored_by_then
    assert refused.status_code == 503
    assert [r.status_code for r in again] == [200, 200]
    menu = (await Chat(tg_engine, "w1").send("/menu")).replies[0].text
    helped, menu_shown = fake_api.texts(5501)  # each once
    assert helped.startswith(tg_engine.text("help.text")) and menu_shown == menu


async def test_a_webhook_update_that_cannot_be_read_is_answered_200_and_skipped(
    fake_api: FakeBotApi,
    settings: Settings,
    tg_engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    hooked, url = _hooked(settings, fake_api)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    message = fake_api.make_message(5502, text="hello")
    message["chat"] = "not a chat"
    message["from"]["first_name"] = "Zebulon"
    bad = fake_api.make_update(message=message)
    good = fake_api.make_update(message=fake_api.make_message(5502, text="/help"))
    async with running(tg_engine, hooked), httpx.AsyncClient() as client:
        answers = [await client.post(url, json=u, headers=headers) for u in (bad, good)]
        nested = await client.post(url, content=b"[" * 100_000, headers=headers | _JSON)
        # Well-formed JSON, but nested deeper than `limits.json_depth` (32): refused too.
        deep = await client.post(url, content=b"[" * 40 + b"]" * 40, headers=headers | _JSON)
        await wait_until(lambda: fake_api.texts(5502), what="the reply to the good update")
    assert [a.status_code for a in answers] == [200, 200]
    assert nested.status_code == 400 and deep.status_code == 400
    (helped,) = fake_api.texts(5502)
    assert helped.startswith(tg_engine.text("help.text"))
    about_it = [r for r in caplog.records if f"update {bad['update_id']} " in r.getMessage()]
    assert [r.levelname for r in about_it] == ["WARNING"]
    assert "Zebulon" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_healthz_says_the_database_answers_with_the_backlogs_or_503(
    fake_api: FakeBotApi, settings: Settings, tg_engine: Engine
) -> None:
    hooked, url = _hooked(settings, fake_api)
    health = url.rsplit("/", 1)[0] + "/healthz"
    async with running(tg_engine, hooked), httpx.AsyncClient() as client:
        ok = await client.get(health)
        await run_sql_beside(
            settings.db_path, "ALTER TABLE telegram_inbox RENAME TO inbox_elsewhere"
        )
        down = await client.get(health)
        await run_sql_beside(
            settings.db_path, "ALTER TABLE inbox_elsewhere RENAME TO telegram_inbox"
        )
        again = await client.get(health)
    assert ok.status_code == 200 and again.status_code == 200
    assert ok.json() == {
        "status": "ok",
        "database": tg_engine.services.ports.db.backend,
        "inbox_backlog": 0,
        "outbox_backlog": 0,
    }
    assert down.status_code == 503 and down.json()["status"] == "unavailable"
