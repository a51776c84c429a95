"""Live case data from the USCIS Case Status API, end to end over real HTTP against the
fake USCIS server on 127.0.0.1 (tests/fake_uscis.py): the token, the quota, the provider
chain's fallbacks, history, the Spanish texts, and the wording of 404 and 422."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import ConfigError, Settings, load_settings
from bot.engine import Engine
from bot.storage.database import Database
from tests.conftest import MONDAY_10AM, Chat, run_cli
from tests.fake_uscis import CLIENT_SECRET, FakeUscis
from tests.pg_server import database_location


@pytest.fixture
def fake() -> Iterator[FakeUscis]:
    with FakeUscis() as server:
        yield server


def live_settings(tmp_path: Path, fake: FakeUscis, **uscis: Any) -> Settings:
    return load_settings(
        db_path=database_location(tmp_path), case_source="uscis", uscis=fake.settings(**uscis)
    )


class Live:
    """An engine on the live source, reopened on the same database to act as a restart."""

    def __init__(self, settings: Settings, clock: FixedClock) -> None:
        self.settings, self.clock = settings, clock
        self.db: Database | None = None
        self.engine: Engine | None = None

    async def start(self) -> Engine:
        self.db = await Database.open(self.settings.db_path)
        self.engine = await create_engine(self.settings, self.db, self.clock)
        return self.engine

    async def restart(self) -> Engine:
        await self.stop()
        return await self.start()

    async def stop(self) -> None:
        if self.engine is not None:
            client = getattr(self.engine.services.ports.cases, "client", None)
            if client is not None:
                await client.close()
        if self.db is not None:
            await self.db.close()


@pytest.fixture
async def live(tmp_path: Path, fake: FakeUscis) -> AsyncIterator[Live]:
    settings = live_settings(tmp_path, fake)
    runner = Live(settings, FixedClock(MONDAY_10AM, settings.tz))
    await runner.start()
    yield runner
    await runner.stop()


def chat_on(live: Live, user: str = "u1") -> Chat:
    assert live.engine is not None
    return Chat(live.engine, user)


async def test_live_status_shows_source_description_and_what_changed(
    live: Live, fake: FakeUscis
) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("EAC9999103403")
    text = chat.text
    assert "Case Was Received" in text and "I-130" in text
    assert "Checked with USCIS just now" in text
    # The HTML description, as plain text: no tags, entities decoded.
    assert "we received your Form I-130" in text
    assert "<p>" not in text and "&nbsp;" not in text and "<a" not in text
    assert "www.uscis.gov/addresschange to give us" in text
    # What changed: the latest dated steps, newest first.
    assert "What changed recently" in text
    assert text.index("Case Is Being Actively Reviewed") < text.index("Fingerprint Fee")
    assert "January 8, 2024" in text
    assert fake.case_calls == ["EAC9999103403"]


async def test_full_history_on_request(live: Live) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("EAC9999103403")
    await chat.press_label("Full history")
    text = chat.text
    assert "history of case EAC9999103403" in text
    for day in ("September 14, 2023", "September 20, 2023", "January 8, 2024"):
        assert day in text
    assert text.index("January 8, 2024") < text.index("September 14, 2023")
    result = await chat.press_label("Check another")  # the step's buttons are still there
    assert "receipt number" in chat.text and result.state.endswith("status.ask_receipt")


async def test_case_without_history_offers_no_history_button(live: Live) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("EAC9999103402")
    assert "Case Was Approved" in chat.text
    labels = [b.label for r in chat.last.replies for b in r.buttons]  # type: ignore[union-attr]
    assert "Full history" not in labels
    assert "What changed" not in chat.text


async def test_token_fetched_once_for_many_lookups_and_renewed_on_expiry(
    live: Live, fake: FakeUscis
) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    for receipt in ("EAC9999103403", "LIN9999106498", "SRC9999102777", "EAC9999103402"):
        await chat.send(f"/status {receipt}")
        assert "Checked with USCIS just now" in chat.text
    assert fake.token_calls == 1
    assert fake.state.token_requests[0]["grant_type"] == "client_credentials"
    # "1799" seconds (a string): renewed 60 s before, so at +29 min 40 s a new one is asked.
    live.clock.set(live.clock.now() + timedelta(minutes=29, seconds=40))
    await chat.send("/status IOE0912345678")  # not asked before: not in the cache
    assert fake.token_calls == 2
    assert "Checked with USCIS just now" in chat.text


async def test_a_401_renews_the_token_once(live: Live, fake: FakeUscis) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("EAC9999103403")
    fake.revoke_tokens()
    live.clock.set(live.clock.now() + timedelta(hours=2))  # past the cache
    await chat.send("/status EAC9999103403")
    assert "Checked with USCIS just now" in chat.text
    assert fake.token_calls == 2


async def test_a_second_401_is_an_operator_error_once_and_the_applicant_gets_the_last_known(
    live: Live, fake: FakeUscis, caplog: pytest.LogCaptureFixture
) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("EAC9999103403")
    fake.set(reject_all_tokens=True)
    live.clock.set(live.clock.now() + timedelta(hours=2))
    with caplog.at_level(logging.INFO):
        await chat.send("/status EAC9999103403")
        assert "last known status, checked on" in chat.text
        assert "Case Was Received" in chat.text
        calls = len(fake.case_calls)
        await chat.send("/status SRC9999102777")  # never seen: nothing known
        assert "can't reach the case records" in chat.text
        assert len(fake.case_calls) == calls  # stopped: no call until the pause is over
        live.clock.set(live.clock.now() + timedelta(minutes=11))
        fake.set(reject_all_tokens=False)
        await chat.send("/status SRC9999102777")
        assert "Checked with USCIS just now" in chat.text
    refused = [r for r in caplog.records if "HTTP 401" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.ERROR
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert CLIENT_SECRET not in everything and "token-" not in everything
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert "EAC9999103403" not in ours and "SRC9999102777" not in ours


async def test_429_backs_off_and_the_answer_comes(live: Live, fake: FakeUscis) -> None:
    fake.fail(429, times=2)
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("LIN9999106498")
    assert "Card Was Mailed To Me" in chat.text
    assert len(fake.case_calls) == 3


async def test_5xx_is_retried_within_its_bound_then_the_last_known_is_given(
    live: Live, fake: FakeUscis
) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("LIN9999106498")
    live.clock.set(live.clock.now() + timedelta(hours=2))
    fake.fail(500, times=10)
    before = len(fake.case_calls)
    await chat.send("/status LIN9999106498")
    assert len(fake.case_calls) - before == 3  # retries = 2: three attempts, no more
    assert "last known status" in chat.text and "Card Was Mailed To Me" in chat.text
    assert "November 23, 2026" in chat.text  # when it was last checked


async def test_503_at_night_falls_back_to_the_last_known_status(
    live: Live, fake: FakeUscis
) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("SRC9999102777")
    # 11 p.m.: the sandbox is closed.
    live.clock.set(live.clock.now().replace(hour=23))
    fake.set(closed=True)
    await chat.send("/status SRC9999102777")
    assert "Request for Evidence Was Sent" in chat.text
    assert "last known status, checked on" in chat.text
    assert "couldn't" not in chat.text.lower()


async def test_a_timeout_falls_back_to_the_imported_case(tmp_path: Path, fake: FakeUscis) -> None:
    settings = live_settings(tmp_path, fake, timeout_seconds=0.2, retries=1)
    runner = Live(settings, FixedClock(MONDAY_10AM, settings.tz))
    await runner.start()
    try:
        fake.set(slow_seconds=0.5)
        chat = chat_on(runner)
        await chat.send("/start")
        await chat.send("EAC2190000001")  # a demo case, imported
        assert "Status:" in chat.text
        assert "Checked with USCIS" not in chat.text
        assert "from the case records on file here" in chat.text
        assert len(fake.case_calls) == 2
    finally:
        await runner.stop()


async def test_quota_exhausted_falls_back_to_the_cache_and_survives_a_restart(
    tmp_path: Path, fake: FakeUscis, caplog: pytest.LogCaptureFixture
) -> None:
    settings = live_settings(tmp_path, fake, daily_quota=2, cache_minutes=5)
    runner = Live(settings, FixedClock(MONDAY_10AM, settings.tz))
    await runner.start()
    try:
        chat = chat_on(runner)
        await chat.send("/start")
        await chat.send("/status EAC9999103403")
        await chat.send("/status LIN9999106498")
        assert len(fake.case_calls) == 2
        runner.clock.set(runner.clock.now() + timedelta(minutes=30))  # the cache has aged
        await runner.restart()
        chat = chat_on(runner)
        with caplog.at_level(logging.INFO):
            await chat.send("/status EAC9999103403")
            assert "last known status, checked on" in chat.text
            assert "Case Was Received" in chat.text
            await chat.send("/status LIN9999106498")
        assert len(fake.case_calls) == 2  # the quota, counted in the database, held
        quota_lines = [r for r in caplog.records if "quota" in r.getMessage()]
        assert len(quota_lines) == 1  # the operator is told once
        # The quota day starts at midnight UTC: 19:00 Eastern is past it.
        runner.clock.set(runner.clock.now().replace(hour=19, minute=5))
        await chat.send("/status EAC9999103403")
        assert "Checked with USCIS just now" in chat.text
        assert len(fake.case_calls) == 3
    finally:
        await runner.stop()


async def test_quota_resets_at_the_hour_set(tmp_path: Path, fake: FakeUscis) -> None:
    from datetime import time

    settings = live_settings(
        tmp_path,
        fake,
        daily_quota=1,
        cache_minutes=0,
        quota_resets_at=time(0, 0),
        quota_timezone="America/New_York",
    )
    runner = Live(settings, FixedClock(MONDAY_10AM, settings.tz))
    await runner.start()
    try:
        chat = chat_on(runner)
        await chat.send("/status EAC9999103403")
        runner.clock.set(runner.clock.now().replace(hour=23, minute=50))
        await chat.send("/status EAC9999103403")
        assert len(fake.case_calls) == 1  # still the same Eastern day
        runner.clock.set(runner.clock.now() + timedelta(minutes=20))
        await chat.send("/status EAC9999103403")
        assert len(fake.case_calls) == 2
    finally:
        await runner.stop()


async def test_rate_limit_spaces_the_calls(tmp_path: Path, fake: FakeUscis) -> None:
    settings = live_settings(tmp_path, fake, requests_per_second=20, cache_minutes=0)
    runner = Live(settings, FixedClock(MONDAY_10AM, settings.tz))
    await runner.start()
    try:
        chat = chat_on(runner)
        for _ in range(5):
            await chat.send("/status EAC9999103402")
        times = fake.case_times
        # Paced at 1/20 s: the last three calls after the second came at least 3/20 s
        # after it (the first is left out: its connection was being opened).
        assert len(times) == 5 and times[-1] - times[1] >= 0.14
    finally:
        await runner.stop()


async def test_a_receipt_of_the_wrong_shape_is_refused_before_any_call(
    live: Live, fake: FakeUscis
) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("/status EAC99991034")
    assert "13 characters" in chat.text
    await chat.send("/watch XYZ9999103403 mine")
    assert "not a receipt prefix" in chat.text
    assert fake.case_calls == [] and fake.token_calls == 0


async def test_404_is_worded_honestly_and_offers_a_person(live: Live, fake: FakeUscis) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("EAC9999100000")
    text = chat.text
    assert "shows no case online" in text and "mistyped" in text
    assert "protected" in text
    labels = [b.label for r in chat.last.replies for b in r.buttons]  # type: ignore[union-attr]
    assert any("person" in label.lower() or "agent" in label.lower() for label in labels)


async def test_422_is_explained_as_a_typo(live: Live, fake: FakeUscis) -> None:
    fake.fail(422)
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("EAC9999103403")
    assert "not well formed" in chat.text and "typo" in chat.text


async def test_ioe_receipt_keeps_its_leading_zero_end_to_end(live: Live, fake: FakeUscis) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("ioe 0912345678")
    assert fake.case_calls == ["IOE0912345678"]
    assert "IOE0912345678" in chat.text and "Case Was Received" in chat.text
    await chat.send("/watch IOE-0912345678 renewal")
    await chat.send("/cases")
    assert "IOE0912345678" in chat.text and "I-90" in chat.text
    assert live.db is not None
    row = await live.db.fetchone("SELECT receipt_number FROM case_live")
    assert row is not None and row["receipt_number"] == "IOE0912345678"


async def test_spanish_status_texts_are_kept(live: Live) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("LIN9999106498")
    assert live.engine is not None and live.db is not None
    record = await live.engine.services.ports.cases.lookup("LIN9999106498")
    assert record is not None
    assert record.status_title_es == "La Tarjeta Me Fue Enviada Por Correo"
    assert record.status_description_es.startswith("El 3 de febrero de 2026")
    assert record.status_description.startswith("On February 3, 2026") and "&amp;" not in (
        record.status_description
    )
    row = await live.db.fetchone(
        "SELECT status_title_es, history FROM case_live WHERE receipt_number = ?",
        ("EAC9999103403",),
    )
    assert row is None  # only what was asked is kept
    await chat.send("EAC9999103403")
    row = await live.db.fetchone(
        "SELECT status_title_es, history FROM case_live WHERE receipt_number = ?",
        ("EAC9999103403",),
    )
    assert row is not None and row["status_title_es"] == "Caso Fue Recibido"
    assert "Se Recibió El Pago" in row["history"]


def test_missing_credentials_for_the_live_source_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli(
        "console",
        env={"TIERLINE_CASE_SOURCE": "uscis", "TIERLINE_DB_PATH": str(tmp_path / "t.db")},
        input="",
    )
    assert result.returncode != 0
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "TIERLINE_USCIS__CLIENT_ID" in lines[0]


def test_the_client_secret_is_refused_in_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('[uscis]\nclient_secret = "x"\n')
    with pytest.raises(ConfigError, match="TIERLINE_USCIS__CLIENT_SECRET"):
        load_settings(tmp_path)


async def test_a_spanish_reader_sees_the_status_as_uscis_words_it_in_spanish(live: Live) -> None:
    spanish, english = chat_on(live, "es1"), chat_on(live, "en1")
    await spanish.send("/language es")
    await spanish.send("LIN9999106498")
    # USCIS's own Spanish title and description; our meaning and next step from es/.
    assert "La Tarjeta Me Fue Enviada Por Correo" in spanish.text
    assert "El 3 de febrero de 2026" in spanish.text
    assert "Card Was Mailed To Me" not in spanish.text
    assert "On February 3, 2026" not in spanish.text
    await english.send("/start")
    await english.send("LIN9999106498")
    assert "Card Was Mailed To Me" in english.text and "On February 3, 2026" in english.text
    assert "La Tarjeta" not in english.text
    # The history, as USCIS gives it in Spanish.
    await spanish.send("EAC9999103403")
    await spanish.press_label("Historial completo")
    assert "Se Recibió El Pago" in spanish.text
