"""The retention policy: the database stops growing at a steady rate, `tierline purge`
end to end, purges and withdrawn reminders found through indexes, the transcript masked
(and still recordable), and a submitted request's answers gone from the conversation."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import RetentionSettings, load_settings
from bot.engine import Engine
from bot.model import ConversationKey, Reply
from bot.retention import RetentionJob, purge
from bot.storage.database import Database
from bot.storage.retention import Expiring, count_sql, delete_sql
from bot.trainer.record import record
from flows import automated as flow
from tests.conftest import MONDAY_10AM, Chat, jsonl, run_cli
from tests.pg_server import database_location, run_sql
from tests.tier_journeys import PHONE, book

OLD = "2026-09-01T10:00"  # 83 days before NOW: past every default limit
NOW = "2026-11-23T10:00"


def _rows(db: Path | str, sql: str) -> list[tuple[object, ...]]:
    return run_sql(db, sql)


def _count(db: Path | str, table: str) -> int:
    return int(_rows(db, f"SELECT COUNT(*) FROM {table}")[0][0])


# ---- the configuration -----------------------------------------------------------------------


def test_defaults_are_privacy_minded() -> None:
    policy = load_settings().retention
    assert (policy.transcript_days, policy.transition_days) == (30, 30)
    assert policy.delivered_notice_days == 7 and policy.idle_conversation_days == 30
    assert policy.verbatim_transcripts == []


@pytest.mark.parametrize(
    ("toml", "field", "reason"),
    [
        ("transcript_days = -1", "retention.transcript_days", "greater than or equal to 0"),
        ("delivered_notice_days = 'a week'", "retention.delivered_notice_days", "valid integer"),
        ("verbatim_transcripts = ['sms']", "retention.verbatim_transcripts.0", "'console'"),
        ("keep_everything = true", "retention.keep_everything", "Extra inputs"),
    ],
)
def test_a_bad_retention_setting_is_refused_with_file_field_and_reason(
    tmp_path: Path, toml: str, field: str, reason: str
) -> None:
    (tmp_path / "settings.toml").write_text(f"[retention]\n{toml}\n")
    proc = run_cli(
        "purge",
        "--db",
        str(database_location(tmp_path, "t.db")),
        env={"TIERLINE_CONFIG_DIR": str(tmp_path)},
    )
    assert proc.returncode == 2
    err = proc.stderr.decode().strip()
    assert err.startswith(f"tierline: error: {tmp_path / 'settings.toml'}: {field}: "), err
    assert reason in err and "Traceback" not in err


# ---- the purge command ---------------------------------------------------------------------------


def test_purge_dry_run_counts_then_purge_deletes_only_what_is_old(tmp_path: Path) -> None:
    db = database_location(tmp_path, "t.db")
    common = ("--db", str(db))
    jsonl(*common, "--user", "old", "--now", OLD, lines=["/start", "EAC2190000001", "/agent"])
    jsonl(*common, "--user", "new", "--now", NOW, lines=["/start", "EAC2190000001"])
    turns, transitions = _count(db, "turns"), _count(db, "transitions")

    dry = run_cli("purge", *common, "--now", NOW, "--dry-run")
    assert dry.returncode == 0, dry.stderr.decode()
    out = dry.stdout.decode()
    assert "would delete         3 transcript turns" in out
    assert "would delete         1 idle conversations" in out
    assert "(older than 2026-10-24 10:00)" in out
    assert (_count(db, "turns"), _count(db, "transitions")) == (turns, transitions)

    done = run_cli("purge", *common, "--now", NOW, "--json")
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["dry_run"] is False
    assert report["counts"]["turns"] == 3 and report["counts"]["idle_conversations"] == 1
    assert report["counts"]["transitions"] == transitions - _count(db, "transitions") > 0
    assert _rows(db, "SELECT DISTINCT user_id FROM turns") == [("new",)]
    assert _rows(db, "SELECT user_id FROM conversations") == [("new",)]

    again = json.loads(run_cli("purge", *common, "--now", NOW, "--dry-run", "--json").stdout)
    assert set(again["counts"].values()) == {0}
    gone = run_cli("scenarios", "record", *common, "--user", "old")
    assert "no stored turns for conversation console:old" in gone.stderr.decode()
    kept = run_cli("scenarios", "record", *common, "--user", "new")
    assert kept.returncode == 0, kept.stderr.decode()  # recording works within the window


def test_a_limit_of_zero_days_keeps_that_data_forever(tmp_path: Path) -> None:
    db = database_location(tmp_path, "t.db")
    jsonl("--db", str(db), "--user", "old", "--now", OLD, lines=["/start"])
    env = {"TIERLINE_RETENTION__TRANSCRIPT_DAYS": "0"}
    proc = run_cli("purge", "--db", str(db), "--now", NOW, "--json", env=env)
    report = json.loads(proc.stdout)
    assert "turns" not in report["counts"] and report["counts"]["transitions"] == 1
    assert _count(db, "turns") == 1 and _count(db, "transitions") == 0


def test_purge_help_and_a_missing_database(tmp_path: Path) -> None:
    helped = run_cli("purge", "--help")
    assert helped.returncode == 0
    text = helped.stdout.decode()
    assert "--dry-run" in text and "transcript_days" in text and "[retention]" in text
    missing = run_cli("purge", "--db", str(tmp_path / "none.db"))
    assert missing.returncode == 2
    assert (
        missing.stderr.decode().strip() == f"tierline: error: no database at {tmp_path / 'none.db'}"
    )
    assert not (tmp_path / "none.db").exists()


# ---- cost that does not grow with the table ---------------------------------------------------


@pytest.mark.sqlite_only  # SQLite's EXPLAIN QUERY PLAN
async def test_purges_and_withdrawn_reminders_search_an_index_never_scan(db: Database) -> None:
    from bot.storage.callbacks import SqliteCallbacks

    statements = [(count_sql(k), ("x",)) for k in Expiring]
    statements += [(delete_sql(k), ("x", 10)) for k in Expiring]
    withdraw = SqliteCallbacks(db, load_settings().tz).drop_reminder("CB-7K2M9Q")
    statements.append((withdraw.sql, tuple(withdraw.params)))
    for sql, params in statements:
        plan = [row["detail"] for row in await db.fetchall("EXPLAIN QUERY PLAN " + sql, params)]
        assert plan and all(step.startswith(("SEARCH", "LIST")) for step in plan), (sql, plan)
        assert any("INDEX" in step for step in plan), (sql, plan)


# ---- a simulated month at a steady rate ---------------------------------------------------------


async def test_a_month_at_a_steady_rate_stays_within_the_retention_window(tmp_path: Path) -> None:
    """Every simulated day, ten new applicants take four turns each and ten notices are
    delivered; the bot's retention job runs once a day on the injected clock. Once the
    window is full, rows and the database file stop growing."""
    window, notice_days, days, per_day = 5, 2, 30, 10
    policy = RetentionSettings(
        transcript_days=window,
        transition_days=window,
        delivered_notice_days=notice_days,
        idle_conversation_days=window,
    )
    # A SQLite file: the test weighs it in pages (`PRAGMA page_count`).
    settings = load_settings(db_path=tmp_path / "month.db", retention=policy.model_dump())
    clock = FixedClock(MONDAY_10AM, settings.tz)
    db = await Database.open(settings.db_path)
    try:
        engine = await create_engine(settings, db, clock)
        ports = engine.services.ports
        job = RetentionJob(db, ports.retention, settings.retention, clock)
        sizes: list[int] = []
        for day in range(days):
            for n in range(per_day):
                chat = Chat(engine, f"d{day}-{n}")
                for text in ("/start", "EAC2190000001", "/menu", "/agent"):
                    await chat.send(text)
            await db.commit(
                ports.outbox.enqueue(
                    ConversationKey("telegram", str(n)),
                    "callback.outcome",
                    Reply(f"Officer note for {PHONE}"),
                    now=clock.now(),
                    delivered=True,
                )
                for n in range(per_day)
            )
            clock.advance(timedelta(days=1))
            await job.run_once()
            (pages,) = await db.fetchall("PRAGMA page_count")
            sizes.append(pages[0])
            if day >= window:  # the window is full: what is kept is bounded by it
                assert await _table(db, "turns") <= window * per_day * 4
                assert await _table(db, "conversations") <= window * per_day
                assert await _table(db, "outbox") <= notice_days * per_day
        made = days * per_day * 4
        assert await _table(db, "turns") < made / 5  # most of the month is gone
    finally:
        await db.close()
    steady = sizes[2 * window :]
    print(f"\npages per day after {days} days: {sizes}")
    assert max(steady) <= sizes[2 * window - 1] * 1.1, sizes  # the file stopped growing


async def _table(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
    return int(row["n"]) if row else 0


async def test_a_stopped_purge_ends_after_the_batch_in_progress(
    db: Database, engine: Engine
) -> None:
    ports = engine.services.ports
    old = MONDAY_10AM.replace(tzinfo=engine.services.settings.tz) - timedelta(days=60)
    await db.commit(
        ports.transcript.turn(ConversationKey("console", f"u{n}"), old, "text", "/start", "x")
        for n in range(50)
    )
    policy = RetentionSettings(purge_batch_rows=10)
    now = engine.now()
    stop = asyncio.Event()
    stop.set()
    first = await purge(db, ports.retention, policy, now, stop=stop)
    assert first[Expiring.TURNS] == 10 and await _table(db, "turns") == 40
    rest = await purge(db, ports.retention, policy, now)
    assert rest[Expiring.TURNS] == 40 and await _table(db, "turns") == 0


async def test_the_job_runs_at_start_and_stops_promptly(db: Database, engine: Engine) -> None:
    ports = engine.services.ports
    old = engine.now() - timedelta(days=60)
    await db.commit([ports.transcript.turn(ConversationKey("console", "u"), old, "text", "x", "y")])
    job = RetentionJob(
        db, ports.retention, engine.services.settings.retention, engine.services.clock
    )
    async with job.running():
        for _ in range(200):
            if job.runs:
                break
            await asyncio.sleep(0.01)
    assert job.runs == 1 and await _table(db, "turns") == 0


# ---- what the transcript and the conversation keep -------------------------------------------


async def test_the_transcript_keeps_identifiers_masked_and_own_words_as_a_length(
    engine: Engine, chat: Chat
) -> None:
    await chat.send("/start")
    await chat.send("EAC2190000001")
    await book(chat)
    apr = Chat(engine, "u2")
    await apr.send("/start")
    await apr.press("go:appointment")
    await apr.press("apr:type:adit")
    await apr.send("A12345678")
    reason = "Maria Lopez needs proof of status for her new job"
    await apr.send(reason)
    rows = await engine.services.ports.db.fetchall("SELECT value FROM turns")
    stored = "\n".join(r["value"] for r in rows)
    for verbatim in ("EAC2190000001", "555-0143", "12345678", "Maria", reason):
        assert verbatim not in stored
    assert "EAC********01" in stored and "***-***-**43" in stored and "A*******78" in stored
    assert f"(own words withheld: {len(reason)} characters)" in stored


async def test_a_masked_transcript_still_records_a_scenario_that_replays(
    engine: Engine, chat: Chat
) -> None:
    await book(chat)  # a phone number typed on the way
    recording = await record(
        engine.services.ports.db.location, "console", "u1", engine.services.clock.tz
    )
    assert recording.warnings == []
    steps = yaml.safe_load(recording.yaml_text)["steps"]
    assert {"say": "(202) 555-0143", "expect": {"state": "tier2.zip", "tier": "tier2"}} in steps


async def test_a_masked_receipt_is_reported_when_recording(engine: Engine, chat: Chat) -> None:
    await chat.send("/start")
    await chat.send("EAC2190000001")
    recording = await record(
        engine.services.ports.db.location, "console", "u1", engine.services.clock.tz
    )
    assert any("receipt numbers masked" in w and "'EAC********01'" in w for w in recording.warnings)


def test_a_channel_listed_verbatim_keeps_inputs_as_typed(tmp_path: Path) -> None:
    db = database_location(tmp_path, "t.db")
    env = {"TIERLINE_RETENTION__VERBATIM_TRANSCRIPTS": '["console"]'}
    jsonl("--db", str(db), "--now", NOW, lines=["/start", "EAC2190000001"], env=env)
    assert ("EAC2190000001",) in _rows(db, "SELECT value FROM turns")
    proc = run_cli("scenarios", "record", "--db", str(db), "--user", "local")
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode()
    assert "cases:" in proc.stdout.decode()  # the case looked up comes with the recording


async def test_a_submitted_request_leaves_no_personal_answer_in_the_conversation(
    engine: Engine, chat: Chat
) -> None:
    await chat.send("/start")
    await chat.press("go:appointment")
    await chat.press("apr:type:advance_parole")
    await chat.send("A12345678")
    await chat.send("My father is gravely ill abroad and I must travel this week")
    await chat.press("apr:docs:yes")
    await chat.send("(315) 555-0143")
    await chat.send("13202")
    assert (await chat.send("2026-12-01")).state == flow.APR_SUBMITTED
    [row] = await engine.services.ports.db.fetchall("SELECT slots FROM conversations")
    kept = json.loads(row["slots"])
    assert kept == {
        "request": {"type": "advance_parole", "reference": kept["request"]["reference"]}
    }
    [stored] = await engine.services.ports.db.fetchall("SELECT * FROM appointment_requests")
    assert stored["identifier"] == "A012345678" and "gravely ill" in stored["reason"]
    assert stored["reference"] in chat.text  # what staff need is in the request
    await chat.press("auto:didnt_help")  # the conversation goes on without them
    assert chat.last is not None and chat.last.state == "tier1.intake"


def test_the_reminder_index_exists_for_old_databases(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    jsonl("--db", str(db), lines=["/start"])
    names = {r[0] for r in _rows(db, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"turns_by_time", "outbox_undelivered_by_kind", "conversations_by_update"} <= names
