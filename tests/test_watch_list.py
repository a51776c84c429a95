"""The watch list: several cases per applicant with labels, /cases, /unwatch, pausing
alerts, and the watcher inside the bot that polls within the quota and queues exactly one
alert per change (a new status, or a new modified date with the same status), across a
restart. Live data comes from the fake USCIS server over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.engine import Engine
from bot.storage.database import Database
from flows.case_live import Watched, due_polls, watch_plan
from tests.conftest import MONDAY_10AM, Chat, run_cli
from tests.fake_uscis import FakeUscis
from tests.pg_server import database_location
from tests.test_uscis import Live, chat_on, live_settings


@pytest.fixture
def fake() -> Iterator[FakeUscis]:
    with FakeUscis() as server:
        yield server


@pytest.fixture
async def live(tmp_path: Path, fake: FakeUscis) -> AsyncIterator[Live]:
    settings = live_settings(tmp_path, fake)
    runner = Live(settings, FixedClock(MONDAY_10AM, settings.tz))
    await runner.start()
    yield runner
    await runner.stop()


async def alerts(db: Database, user: str | None = None) -> list[tuple[str, str]]:
    rows = await db.fetchall(
        "SELECT user_id, text FROM outbox WHERE kind = 'case_alert' ORDER BY id"
    )
    return [(r["user_id"], r["text"]) for r in rows if user is None or r["user_id"] == user]


async def later(live: Live, hours: float) -> None:
    live.clock.set(live.clock.now() + timedelta(hours=hours))
    assert live.engine is not None
    await live.engine.tick()


async def test_several_cases_with_labels_listed_and_removed(live: Live, fake: FakeUscis) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("/watch EAC9999103403 Mom's I-130")
    assert "Now watching EAC9999103403" in chat.text and "Mom's I-130" in chat.text
    assert "Case Was Received" in chat.text
    await chat.send("/watch lin-99-991-06498 Dad")
    await chat.send("/watch IOE 0912345678")
    await chat.send("/cases")
    text = chat.text
    assert "The cases you watch (3)" in text
    assert "(Mom's I-130) EAC9999103403, Form I-130: Case Was Received, since March 2, 2026" in text
    assert "(Dad) LIN9999106498, Form I-765: Card Was Mailed To Me" in text
    assert "IOE0912345678, Form I-90" in text
    await chat.send("/watch EAC9999103403 Mother")
    assert 'its label is now "Mother"' in chat.text
    await chat.send("/unwatch LIN9999106498")
    assert "no longer on your list" in chat.text
    await chat.send("/cases")
    assert "(2)" in chat.text and "LIN9999106498" not in chat.text and "(Mother)" in chat.text
    await chat.send("/unwatch LIN9999106498")
    assert "isn't on your list" in chat.text
    # Another person's list is their own.
    other = chat_on(live, "u2")
    await other.send("/cases")
    assert "aren't watching any case" in other.text


async def test_watch_usage_and_a_case_not_shown_online(live: Live, fake: FakeUscis) -> None:
    chat = chat_on(live)
    await chat.send("/start")
    await chat.send("/watch")
    assert "/watch followed by its receipt number" in chat.text
    await chat.send("/watch EAC9999100000 nobody")
    assert "shows no case online" in chat.text
    await chat.send("/cases")
    assert "aren't watching any case" in chat.text


async def test_a_change_of_status_and_a_silent_update_each_alert_once_across_a_restart(
    live: Live, fake: FakeUscis
) -> None:
    mom, dad = chat_on(live, "mom"), chat_on(live, "dad")
    await mom.send("/watch EAC9999103403 Mom's I-130")
    await mom.send("/watch SRC9999102777")
    await dad.send("/watch EAC9999103403")  # the household watches the same case
    assert live.db is not None
    await later(live, 0)  # the first poll only records what the case is
    assert await alerts(live.db) == []
    fake.update_case(
        "EAC9999103403",
        current_case_status_text_en="Case Was Approved",
        modifiedDate="11-23-2026 11:15:00",
    )
    await later(live, 1)  # not due yet: two cases, 4 polls a day each, every 6 hours
    assert await alerts(live.db) == []
    await later(live, 6)
    sent = await alerts(live.db)
    assert sorted(user for user, _ in sent) == ["dad", "mom"]
    mom_alert = dict(sent)["mom"]
    assert "(Mom's I-130) EAC9999103403" in mom_alert and '"Case Was Approved"' in mom_alert
    assert 'Before: "Case Was Received"' in mom_alert
    await later(live, 7)
    assert len(await alerts(live.db)) == 2  # nothing new: no second alert
    engine = await live.restart()
    assert engine.services.ports.db is live.db
    await later(live, 7)
    assert len(await alerts(live.db)) == 2  # and none after a restart
    # Same status, a new modified date: the record was updated.
    fake.update_case("EAC9999103403", modifiedDate="11-24-2026 16:02:11")
    await later(live, 7)
    sent = await alerts(live.db, "mom")
    assert len(sent) == 2 and "was updated on November 24, 2026" in sent[1][1]
    assert 'still "Case Was Approved"' in sent[1][1]
    await live.restart()
    await later(live, 7)
    assert len(await alerts(live.db)) == 4
    # Alerts reach the applicant through the outbox (the console pulls them on its turn).
    assert live.engine is not None
    result = await chat_on(live, "mom").send("/cases")
    assert any("was updated on" in r.text for r in result.replies) or await alerts(live.db)


async def test_paused_alerts_are_not_sent_and_resume(live: Live, fake: FakeUscis) -> None:
    chat = chat_on(live)
    await chat.send("/watch LIN9999106498 Dad")
    await chat.send("/alerts off")
    assert "Alerts paused" in chat.text
    await chat.send("/cases")
    assert "Alerts are paused" in chat.text
    assert live.db is not None
    await later(live, 0)
    fake.update_case("LIN9999106498", modifiedDate="11-23-2026 12:00:00")
    await later(live, 7)
    assert await alerts(live.db) == []
    await chat.send("/alerts on")
    assert "Alerts are on" in chat.text
    fake.update_case("LIN9999106498", current_case_status_text_en="Card Was Delivered To Me")
    await later(live, 7)
    sent = await alerts(live.db)
    assert len(sent) == 1 and "Card Was Delivered To Me" in sent[0][1]
    await chat.send("/alerts sometimes")
    assert "/alerts off" in chat.text


async def test_the_watcher_keeps_within_its_share_of_the_quota(
    tmp_path: Path, fake: FakeUscis
) -> None:
    settings = live_settings(tmp_path, fake, daily_quota=8, watch_share=0.5, cache_minutes=0)
    runner = Live(settings, FixedClock(MONDAY_10AM, settings.tz))
    await runner.start()
    try:
        chat = chat_on(runner)
        await chat.send("/watch EAC9999103403")
        await chat.send("/watch LIN9999106498")
        for _ in range(23):  # a day of hourly runs
            await later(runner, 1)
        # Two lookups to add them; the watcher's half of 8 calls: 2 polls a day per case.
        assert len(fake.case_calls) == 2 + 4
        assert sorted(fake.case_calls) == ["EAC9999103403"] * 3 + ["LIN9999106498"] * 3
    finally:
        await runner.stop()


async def test_watch_list_on_the_local_source_alerts_on_a_new_import(
    engine: Engine, clock: FixedClock, db: Database
) -> None:
    chat = Chat(engine)
    await chat.send("/watch EAC2190000001 me")
    assert "Now watching" in chat.text
    await engine.tick()
    record = await engine.services.ports.cases.lookup("EAC2190000001")
    assert record is not None
    from msgspec.structs import replace

    await db.commit(
        [
            engine.services.ports.cases.upsert(
                replace(record, status_title="Case Was Approved"), clock.now()
            )
        ]
    )
    clock.set(clock.now() + timedelta(hours=7))
    await engine.tick()
    sent = await alerts(db)
    assert len(sent) == 1 and "Case Was Approved" in sent[0][1]


def test_poll_plan_spreads_the_quota_and_polls_the_most_recently_changed_first() -> None:
    plan = watch_plan(cases=300, daily_quota=1000, watch_share=0.5, max_polls=4)
    assert plan.polls_per_case == 1 and plan.interval == timedelta(days=1)
    assert watch_plan(3, 1000, 0.5, 4).polls_per_case == 4
    assert watch_plan(600, 1000, 0.5, 4).polls_per_case == 0  # too many: none polled
    now = datetime(2026, 11, 23, 10, 0).astimezone()
    watched = [
        Watched("A", now - timedelta(days=2), now - timedelta(days=30)),
        Watched("B", now - timedelta(days=2), now - timedelta(days=1)),
        Watched("C", None, None),
        Watched("D", now - timedelta(hours=1), now),  # polled lately: not due
    ]
    assert due_polls(watched, now, plan, 10) == ["C", "B", "A"]
    assert due_polls(watched, now, plan, 2) == ["C", "B"]


def test_watch_plan_command_shows_cases_and_polls(tmp_path: Path) -> None:
    db = database_location(tmp_path, "plan.db")
    env = {"TIERLINE_USCIS__DAILY_QUOTA": "1000"}
    lines = [
        {"text": "/watch EAC2190000001 me"},
        {"text": "/watch EAC2190000001"},
        {"text": "/watch MSC2221234567 spouse"},
    ]
    out = run_cli(
        "console",
        "--jsonl",
        "--db",
        str(db),
        input="".join(json.dumps(x) + "\n" for x in lines),
        env=env,
    )
    assert out.returncode == 0, out.stderr.decode()
    shown = run_cli("cases", "watch-plan", "--db", str(db), env=env)
    assert shown.returncode == 0, shown.stderr.decode()
    text = shown.stdout.decode()
    assert "watched cases: 2" in text
    assert "polls per case per day: 4 (every 6 hours), 8 calls a day in all" in text
    data = json.loads(run_cli("cases", "watch-plan", "--json", "--db", str(db), env=env).stdout)
    assert data["watched_cases"] == 2 and data["polls_per_case_per_day"] == 4


async def test_an_alert_reaches_a_spanish_watcher_in_spanish_with_uscis_own_words(
    live: Live, fake: FakeUscis
) -> None:
    abuela, son = chat_on(live, "abuela"), chat_on(live, "son")
    await abuela.send("/language es")
    await abuela.send("/watch EAC9999103403 Abuela")
    await son.send("/watch EAC9999103403")
    assert live.db is not None
    await later(live, 0)
    fake.update_case(
        "EAC9999103403",
        current_case_status_text_en="Case Was Approved",
        current_case_status_text_es="Caso Fue Aprobado",
        modifiedDate="11-23-2026 11:15:00",
    )
    await later(live, 7)
    assert len(await alerts(live.db)) == 2
    # Each alert goes out in its reader's language when it is delivered.
    delivered = await abuela.send("/cases")
    spanish = "\n".join(r.text for r in delivered.replies)
    assert "tiene un nuevo estado" in spanish and '"Caso Fue Aprobado"' in spanish
    assert "has a new status" not in spanish
    delivered = await son.send("/cases")
    english = "\n".join(r.text for r in delivered.replies)
    assert "has a new status" in english and '"Case Was Approved"' in english
