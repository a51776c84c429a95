"""Reliability: nothing an input carries stops the writer, and every input path is bounded.

- The group-commit writer: a statement that fails (for any reason, not only an SQL error)
  fails its own group only; the other groups of the same commit are stored, and the
  writer keeps going.
- Arbitrary input (any Unicode, lone surrogates, huge strings, deeply nested JSON, forged
  button data) through the real `python -m bot console --jsonl` on a real SQLite file and
  through the engine directly: exactly one reply per input, no traceback, bad input
  changes nothing, and later normal turns work and are stored.
- Staff commands and settings: the same bounds, with a clear one-line answer.

Property-based tests are bounded (max_examples, deadline) so the file stays fast; set
TIERLINE_RELIABILITY_EXAMPLES to run more examples.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import ConfigError, Settings, load_settings
from bot.engine import ConversationKey, Engine, TurnInput
from bot.inputs import InputRejected, parse_json, valid_text
from bot.storage.database import Database, StorageError, Write
from tests.conftest import MONDAY_10AM, ROOT, run_cli

EXAMPLES = int(os.environ.get("TIERLINE_RELIABILITY_EXAMPLES", "40"))
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff", "\udcff"]

# ---- strategies -------------------------------------------------------------------------------

any_char = st.one_of(
    st.characters(exclude_categories=()),  # every code point, surrogates included
    st.sampled_from(SURROGATES),
)
any_text = st.text(any_char, max_size=300)
huge_text = st.integers(5_000, 200_000).map(lambda n: "x" * n)


@st.composite
def nested_json(draw: st.DrawFn) -> str:
    """A JSONL line whose "text" is arrays or objects nested 20 to 3,000 deep."""
    depth = draw(st.integers(20, 3_000))
    if draw(st.booleans()):
        inner = "[" * depth + "]" * depth
    else:
        inner = '{"a": ' * depth + "1" + "}" * depth
    return '{"text": ' + inner + "}"


# Button data no step offers: random text, look-alikes of real buttons, too long, not text.
forged_button = st.one_of(
    any_text.filter(lambda s: not s.startswith("nav:")),
    st.sampled_from(
        [
            "slot:20261123T1100",
            "confirm:yes",
            "issue:inperson_need",  # a real button, of another step
            "go:delete_everything",
            "nav:" + "m" * 70,
            "nav:\ud800",
            "x" * 65,
            "",
        ]
    ),
)


def _json_line(value: dict[str, Any]) -> str:
    return json.dumps(value)  # ensure_ascii: a lone surrogate travels as "\\ud800"


# A line of the JSONL contract, any shape (always one line: no raw newline inside).
jsonl_line = st.one_of(
    any_text.map(lambda s: s.replace("\n", " ").replace("\r", " ")),
    any_text.map(lambda s: _json_line({"text": s})),
    forged_button.map(lambda s: _json_line({"button": s})),
    huge_text,
    huge_text.map(lambda s: _json_line({"text": s})),
    nested_json(),
    st.sampled_from(['{"button": 42}', '{"text": "a", "button": "b"}', "{", "[1, 2]", "{}"]),
)

# ---- the writer ------------------------------------------------------------------------------


class _Exploding(Mapping[str, Any]):
    """Named parameters whose lookup fails with something that is not an SQL error."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("boom while binding")

    def __iter__(self) -> Iterator[str]:
        return iter(["v"])

    def __len__(self) -> int:
        return 1


def _save_new(channel: str, user: str, state: str) -> Write:
    return Write(
        "INSERT INTO conversations (channel, user_id, state, slots, offered, version,"
        " updated_at) VALUES (?, ?, ?, '{}', '[]', 1, '2026-11-23T10:00:00')",
        (channel, user, state),
        expect_rows=1,
    )


async def _states(db: Database) -> dict[str, str]:
    rows = await db.fetchall("SELECT user_id, state FROM conversations")
    return {r["user_id"]: r["state"] for r in rows}


@pytest.mark.parametrize(
    "poison",
    [
        # a value SQLite cannot bind: text with a lone surrogate (the measured failure)
        Write("INSERT INTO schema_version VALUES (900, ?, 'x')", ("bad \ud800 text",)),
        # an exception that is not an SQL error, raised while binding
        Write("INSERT INTO schema_version VALUES (900, :v, 'x')", _Exploding()),
        # an SQL error
        Write("INSERT INTO no_such_table VALUES (1)"),
        # a statement that rolls back the whole transaction (every group of the batch)
        Write("INSERT OR ROLLBACK INTO schema_version VALUES (1, 'again', 'x')"),
    ],
    ids=["lone-surrogate", "python-exception", "sql-error", "whole-transaction-rollback"],
)
async def test_a_failing_statement_fails_its_own_group_and_the_batch_commits(
    tmp_path: Path, poison: Write
) -> None:
    db = await Database.open(tmp_path / "t.db")
    try:
        commits_before = db.commits
        # Three conversations' turns land in one group commit; the middle one carries a
        # good write *before* the failing one, which must not be kept either.
        results = await asyncio.wait_for(  # before the fix, this waited for ever
            asyncio.gather(
                db.commit([_save_new("console", "ana", "automated.menu")]),
                db.commit([_save_new("console", "bob", "tier1.intake"), poison]),
                db.commit([_save_new("console", "cy", "automated.menu")]),
                return_exceptions=True,
            ),
            30,
        )
        assert results[0] == [1] and results[2] == [1]
        assert isinstance(results[1], StorageError)
        assert "\ud800" not in str(results[1]) and "boom" not in str(results[1])
        assert await _states(db) == {"ana": "automated.menu", "cy": "automated.menu"}
        if "ROLLBACK" not in poison.sql:  # that one is retried group by group
            assert db.commits == commits_before + 1, "the three turns shared one commit"
        # The writer goes on: later turns of anyone are stored.
        later = db.commit([_save_new("console", "dee", "tier1.intake")])
        assert await asyncio.wait_for(later, 30) == [1]
        assert (await _states(db))["dee"] == "tier1.intake"
    finally:
        await db.close()
    # ...durably: a new connection sees exactly what was confirmed.
    with sqlite3.connect(tmp_path / "t.db") as conn:
        users = {r[0] for r in conn.execute("SELECT user_id FROM conversations")}
    assert users == {"ana", "cy", "dee"}


async def test_writes_waiting_when_the_writer_stops_are_answered_not_left_waiting(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "t.db")
    assert db._loop_task is not None
    first = asyncio.ensure_future(db.commit([_save_new("c", "first", "s")]))
    for _ in range(3):
        await asyncio.sleep(0)  # the writer takes it and is busy applying it
    queued = [asyncio.ensure_future(db.commit([_save_new("c", str(i), "s")])) for i in range(3)]
    await asyncio.sleep(0)  # these wait in the queue
    db._loop_task.cancel()  # the worst case: the writer's loop ends there and then
    done = await asyncio.wait_for(asyncio.gather(first, *queued, return_exceptions=True), 5)
    assert isinstance(done[0], list | StorageError)  # applied or not, it was answered
    assert all(isinstance(r, StorageError) for r in done[1:])
    with pytest.raises(StorageError):
        await db.commit([_save_new("c", "late", "s")])
    db._loop_task = None
    await db.close()  # waits for the writer's thread, which may still be inside the COMMIT


# ---- the engine, directly --------------------------------------------------------------------


@dataclass
class _Env:
    runner: asyncio.Runner
    engine: Engine
    db: Database
    users: Iterator[int]

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Env]:
    """One engine on a real SQLite file for every example (one event loop throughout)."""
    path = tmp_path_factory.mktemp("reliability") / "t.db"
    tierline = load_settings(db_path=path)
    with asyncio.Runner() as runner:
        db = runner.run(Database.open(path))
        engine = runner.run(create_engine(tierline, db, FixedClock(MONDAY_10AM, tierline.tz)))
        yield _Env(runner, engine, db, iter(range(10**9)))
        runner.run(db.close())


async def _row(db: Database, key: ConversationKey) -> tuple[Any, ...] | None:
    row = await db.fetchone(
        "SELECT state, slots, offered, version FROM conversations WHERE channel = ?"
        " AND user_id = ?",
        (key.channel, key.user_id),
    )
    return None if row is None else tuple(row)


async def _count(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")
    assert row is not None
    return int(row[0])


async def _turn(engine: Engine, key: ConversationKey, **kw: Any) -> Any:
    result = await engine.handle(TurnInput(key, engine.now(), **kw))
    assert result.replies, "every input gets a reply"
    for reply in result.replies:
        assert reply.text and "Traceback" not in reply.text
        reply.text.encode("utf-8")  # what is shown is valid text
    return result


async def _then_normal_turns_work(env: _Env, key: ConversationKey) -> None:
    before = await _row(env.db, key)
    result = await _turn(env.engine, key, text="/menu")
    assert result.state == "automated.menu"
    after = await _row(env.db, key)
    assert after is not None and after[0] == "automated.menu"
    assert after[3] == (before[3] if before else 0) + 1, "the normal turn was stored"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.one_of(any_text, huge_text))
def test_any_text_gets_one_answer_and_the_conversation_goes_on(env: _Env, text: str) -> None:
    key = ConversationKey("console", f"text-{next(env.users)}")

    async def scenario() -> None:
        await _turn(env.engine, key, text="/start")
        await _turn(env.engine, key, text=text)
        await _then_normal_turns_work(env, key)

    env.run(scenario())


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    bad=st.one_of(
        forged_button.map(lambda s: {"button": s}),
        huge_text.map(lambda s: {"text": s}),
        st.sampled_from(["", "   ", "\x00\x07", "\ud800", "\u200b\ud800\t"]).map(
            lambda s: {"text": s}
        ),
    )
)
def test_bad_input_changes_nothing(env: _Env, bad: dict[str, str]) -> None:
    """Forged or stale buttons, empty or over-long text: one clear reply, and the
    conversation, the transcript and the outbox are as they were."""
    key = ConversationKey("console", f"bad-{next(env.users)}")

    async def scenario() -> None:
        await _turn(env.engine, key, text="/start")
        await _turn(env.engine, key, button="nav:agent")  # somewhere with buttons to forge
        before = await _row(env.db, key), await _count(env.db, "turns")
        outbox = await _count(env.db, "outbox")
        result = await _turn(env.engine, key, **bad)
        assert result.state == "tier1.intake" and not result.transitions
        assert (await _row(env.db, key), await _count(env.db, "turns")) == before
        assert await _count(env.db, "outbox") == outbox
        await _then_normal_turns_work(env, key)

    env.run(scenario())


def test_a_lone_surrogate_is_answered_normally_and_stored_as_valid_text(env: _Env) -> None:
    key = ConversationKey("console", "surrogate\udcff")  # an id from a non-UTF-8 argv

    async def scenario() -> None:
        await _turn(env.engine, key, text="/start")
        result = await _turn(env.engine, key, text="/help\ud800")
        assert result.state == "automated.menu"
        await _then_normal_turns_work(env, ConversationKey("console", "surrogate\ufffd"))

    env.run(scenario())


# ---- the console, as a real subprocess ------------------------------------------------------


def _console(db: Path, lines: list[str | bytes], *extra: str) -> tuple[list[dict[str, Any]], str]:
    # A raw line holding a lone surrogate goes as the invalid UTF-8 a broken client writes.
    payload = b"".join(
        (x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass")) + b"\n" for x in lines
    )
    proc = run_cli("console", "--jsonl", "--db", str(db), *extra, input=payload, timeout=120)
    stdout, stderr = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stdout and "Traceback" not in stderr, stderr
    out = stdout.splitlines()
    assert len(out) == len(lines), "exactly one JSON object per input line"
    objects = [json.loads(x) for x in out]
    for obj in objects:
        assert set(obj) == {"state", "tier", "replies"} and obj["replies"]
        assert all(r["text"] and "Traceback" not in r["text"] for r in obj["replies"])
    return objects, stderr


def _stored(db: Path, user: str = "local") -> tuple[str, int]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT state, version FROM conversations WHERE channel = 'console' AND user_id = ?",
            (user,),
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_the_measured_failures_are_answered_and_the_console_goes_on(tmp_path: Path) -> None:
    """The two inputs measured in the issue: a lone surrogate (which stopped every write of
    the process) and a line of a thousand nested arrays (a RecursionError)."""
    db = tmp_path / "x.db"
    out, _ = _console(
        db,
        [
            "/start",
            '{"text": "/help\\ud800"}',
            '{"text": ' + "[" * 1000 + "]" * 1000 + "}",
            "[" * 1000 + "]" * 1000,  # not an object: plain text
            "/help",
            '{"button": "nav:agent"}',
        ],
    )
    assert out[1]["state"] == "automated.menu"  # answered, as any unknown command is
    assert "nested too deeply" in out[2]["replies"][0]["text"]
    assert out[4] == out[4] | {"state": "automated.menu"}
    assert out[5]["state"] == "tier1.intake"
    assert _stored(db)[0] == "tier1.intake", "the turns after the bad lines were stored"


def test_over_long_lines_are_refused_in_bounded_memory_and_change_nothing(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    huge = b"y" * (3 * 1024 * 1024)  # 3 MiB on one line, plain and as JSON
    out, _ = _console(db, ["/start", huge, b'{"text": "' + huge + b'"}', "/menu"])
    for obj in out[1:3]:
        assert obj["state"] == "automated.menu"
        assert "too large" in obj["replies"][0]["text"]
    assert _stored(db) == ("automated.menu", 2)  # only /start and /menu were turns


@settings(max_examples=max(3, EXAMPLES // 8), deadline=None)
@given(lines=st.lists(jsonl_line, min_size=1, max_size=6))
@example(lines=["\ud800 a raw line with a lone surrogate"])  # once found by chance
def test_any_jsonl_line_gets_exactly_one_reply_and_later_turns_are_stored(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str]
) -> None:
    db = tmp_path_factory.mktemp("jsonl") / "t.db"
    out, _ = _console(db, ["/start", *lines, "/menu"])
    assert out[-1]["state"] == "automated.menu"
    state, version = _stored(db)
    assert state == "automated.menu" and version >= 2


@settings(max_examples=max(3, EXAMPLES // 8), deadline=None)
@given(
    bad=st.lists(
        st.one_of(
            nested_json(),
            huge_text.filter(lambda s: len(s) > 70_000),
            forged_button.map(lambda s: _json_line({"button": s})),
            st.sampled_from(['{"button": 42}', '{"text": "a", "button": "b"}', "{}"]),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_bad_jsonl_lines_change_nothing_in_the_database(
    tmp_path_factory: pytest.TempPathFactory, bad: list[str]
) -> None:
    db = tmp_path_factory.mktemp("jsonl-bad") / "t.db"
    out, _ = _console(db, ["/start", *bad])
    assert all(o["state"] == "automated.menu" for o in out)
    assert _stored(db) == ("automated.menu", 1), "only /start changed the conversation"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 1


def test_interactive_console_bounds_a_piped_line(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    payload = b"z" * (200 * 1024) + b"\n/menu\n"
    proc = run_cli("console", "--db", str(db), input=payload)
    out = proc.stdout.decode()
    assert proc.returncode == 0 and "Traceback" not in out + proc.stderr.decode()
    assert "too large (more than 65536 bytes)" in out
    assert _stored(db) == ("automated.menu", 2)  # the /start on entry, then /menu


# ---- staff commands ------------------------------------------------------------------------


def test_staff_arguments_are_bounded_and_made_valid(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    note = "n" * 5000
    proc = run_cli(
        "staff", "complete", "CB-AAAAAA", "--outcome", "resolved", "--note", note, "--db", db
    )
    err = proc.stderr.decode().strip()
    assert proc.returncode == 1 and len(err.splitlines()) == 1
    assert err == (
        "tierline staff: error: That message is too long (more than 1000 characters). "
        "Please send something shorter."
    )
    # An argument that is not UTF-8 reaches Python as a lone surrogate: it is looked up
    # (and not found) like any other reference, not a crash.
    proc = run_cli("staff", "take", "CB-\udcff", "--db", db)
    err = proc.stderr.decode().strip()
    assert proc.returncode == 1 and "Traceback" not in err
    assert err.startswith("tierline staff: error: No open item has the reference CB-")


# ---- the shared functions and the settings ---------------------------------------------------


@given(any_text)
def test_valid_text_always_encodes_and_keeps_valid_text(text: str) -> None:
    cleaned = valid_text(text)
    cleaned.encode("utf-8")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        assert "\ufffd" in cleaned or len(cleaned) < len(text)  # a pair became one char
    else:
        assert cleaned == text


def test_parse_json_refuses_before_parsing() -> None:
    with pytest.raises(InputRejected) as deep:
        parse_json("[" * 100_000 + "]" * 100_000, max_bytes=10**6, max_depth=32)
    assert deep.value.key == "error.too_deep"
    with pytest.raises(InputRejected) as big:
        parse_json(b"[" + b"1," * 1000 + b"1]", max_bytes=1000, max_depth=32)
    assert big.value.key == "error.input_too_large"
    assert parse_json('{"text": "\\ud800 ok", "deep": "[[[[[["}', max_bytes=100, max_depth=2) == {
        "text": "\ufffd ok",
        "deep": "[[[[[[",
    }


def test_the_limits_are_settings_and_are_validated(tmp_path: Path) -> None:
    assert Settings().limits.text_chars == 4096
    (tmp_path / "settings.toml").write_text("[limits]\ntext_chars = 100\nline_bytes = 1024\n")
    tuned = load_settings(tmp_path)
    assert tuned.limits.text_chars == 100 and tuned.limits.line_bytes == 1024
    (tmp_path / "settings.toml").write_text("[limits]\ntext_chars = 4096\nline_bytes = 2048\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path)
    assert "limits" in str(refused.value) and "4 × text_chars" in str(refused.value)


def test_a_lowered_text_limit_is_what_the_console_answers(tmp_path: Path) -> None:
    env = {"TIERLINE_LIMITS__TEXT_CHARS": "100", "TIERLINE_CONFIG_DIR": str(ROOT / "config")}
    payload = "/start\n" + "w" * 150 + "\n"
    proc = run_cli("console", "--jsonl", "--db", str(tmp_path / "t.db"), input=payload, env=env)
    out = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert "more than 100 characters" in out[1]["replies"][0]["text"]


async def test_closing_waits_for_the_step_the_writer_thread_is_running(tmp_path: Path) -> None:
    """A COMMIT may still be syncing in the writer's thread when its caller is gone (the
    writer's loop cancelled at shutdown): closing waits for it, never closes the connection
    under it (SQLite crashes the process then)."""
    db = await Database.open(tmp_path / "t.db")
    release = threading.Event()
    seen: list[object] = []

    def slow_step(conn: sqlite3.Connection) -> None:
        release.wait(5)
        seen.append(conn.execute("SELECT 1").fetchone()[0])  # the connection is still open

    step = db._writer_thread.run(slow_step)
    closing = asyncio.ensure_future(db.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # waiting for the writer's thread
    release.set()
    await asyncio.wait_for(closing, 5)
    assert seen == [1]
    step.cancel()  # its loop-side future is nobody's now
