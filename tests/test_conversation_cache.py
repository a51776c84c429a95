"""Conversation rows kept between turns (bot/storage/conversations.py): a turn starts from
the row the last turn saved, and never answers from one that is no longer what is stored,
whoever changed it (another process on the same file, another statement in this one)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import Settings
from bot.engine import Engine
from bot.storage.database import Database, Write
from tests.conftest import Chat, count_reads
from tests.pg_server import run_sql_beside


async def test_a_turn_starts_from_the_row_the_last_turn_saved(chat: Chat, db: Database) -> None:
    await chat.send("/start")
    reads = count_reads(db, "conversations")
    await chat.press("go:status")
    await chat.send("/menu")
    if db.keeps_rows:
        assert reads == []  # both started from the row the turn before committed
    else:  # a server database: other processes write at any moment, every turn reads
        assert len(reads) == 2
    row = await db.fetchone("SELECT state, version FROM conversations WHERE user_id = 'u1'")
    assert row is not None and (row["state"], row["version"]) == ("automated.menu", 3)


async def _other_process(settings: Settings, clock: FixedClock) -> tuple[Database, Chat]:
    """A second engine on its own connections to the same file, as another process has."""
    db = await Database.open(settings.db_path)
    return db, Chat(await create_engine(settings, db, clock))


async def test_a_save_over_a_row_another_process_moved_is_decided_again_on_the_stored_row(
    chat: Chat, settings: Settings, clock: FixedClock
) -> None:
    await chat.send("/start")
    await chat.press("go:status")
    other_db, other = await _other_process(settings, clock)
    try:
        await other.send("/menu")  # moved there, unknown to the first engine's kept row
    finally:
        await other_db.close()
    result = await chat.press("go:info")  # offered by the menu, not by the status step
    assert result.kept and result.state == "automated.info"


async def test_a_turn_that_writes_nothing_answers_from_the_stored_row_not_a_stale_one(
    chat: Chat, settings: Settings, clock: FixedClock, db: Database
) -> None:
    await chat.send("/start")
    other_db, other = await _other_process(settings, clock)
    try:
        await other.press("go:status")
    finally:
        await other_db.close()
    # An empty text is refused (nothing is written): the refusal asks the question of the
    # step the conversation is really at, and nothing of a stale row is kept.
    result = await chat.send("   ")
    assert not result.kept and result.state == "automated.status.ask_receipt"
    row = await db.fetchone("SELECT state, version FROM conversations WHERE user_id = 'u1'")
    assert row is not None and (row["state"], row["version"]) == ("automated.status.ask_receipt", 2)


async def test_another_statement_writing_conversations_drops_the_kept_rows(
    engine: Engine, chat: Chat, db: Database
) -> None:
    await chat.send("/start")
    await chat.press("go:status")
    await db.commit([Write("DELETE FROM conversations WHERE user_id = 'u1'")])
    result = await chat.send("   ")  # refused: answered where the stored row says (none)
    assert not result.kept and result.state == engine.services.definition.initial
    reads = count_reads(db, "conversations")
    await chat.send("/start")
    assert len(reads) == 1  # read, since nothing was kept for it


async def test_a_save_from_a_kept_row_conflicts_after_another_connection_wrote_unversioned(
    chat: Chat, settings: Settings, db: Database
) -> None:
    """Another connection changed the row without moving its version (a hand-made fix):
    the first save from the kept row after it is refused and decided again on the row."""
    await chat.send("/start")
    await chat.press("go:status")
    await run_sql_beside(
        settings.db_path,
        "UPDATE conversations SET state = 'automated.menu', offered = '[]' WHERE user_id = 'u1'",
    )
    result = await chat.send("/help")  # answered in place: where the row says it is
    assert result.kept and result.state == "automated.menu"
    row = await db.fetchone("SELECT state FROM conversations WHERE user_id = 'u1'")
    assert row is not None and row["state"] == "automated.menu"


async def test_a_turn_that_writes_nothing_after_another_connection_wrote_unversioned(
    chat: Chat, settings: Settings, db: Database
) -> None:
    """Another connection moved the row without moving its version: a refusal answered
    from the kept row is not released; it is decided again on the row as stored."""
    await chat.send("/start")
    await chat.press("go:status")
    await run_sql_beside(
        settings.db_path,
        "UPDATE conversations SET state = 'automated.menu', offered = '[]' WHERE user_id = 'u1'",
    )
    result = await chat.send("   ")  # refused: asked again where the row says it is
    assert not result.kept and result.state == "automated.menu"
    row = await db.fetchone("SELECT state, version FROM conversations WHERE user_id = 'u1'")
    assert row is not None and (row["state"], row["version"]) == ("automated.menu", 2)


async def test_a_refusal_saves_nothing_and_the_row_stays_kept(chat: Chat, db: Database) -> None:
    """A refused input leaves the row as it was (same version, same time) and the next
    turn still starts from the kept row."""
    await chat.send("/start")
    await chat.press("go:status")
    before = await db.fetchone("SELECT * FROM conversations WHERE user_id = 'u1'")
    result = await chat.send("   ")
    assert not result.kept
    after = await db.fetchone("SELECT * FROM conversations WHERE user_id = 'u1'")
    assert before is not None and after is not None and dict(before) == dict(after)
    reads = count_reads(db, "conversations")
    await chat.send("/menu")
    assert reads == [] if db.keeps_rows else len(reads) == 1


@pytest.mark.sqlite_only  # SQLite's group commit; PostgreSQL keeps no rows
async def test_a_turn_decided_while_the_batch_that_saw_another_commit_commits_reads_the_row(
    chat: Chat, settings: Settings, db: Database, engine: Engine, monkeypatch: Any
) -> None:
    """Another connection moved a row without its version. The first batch after it
    sees that commit; a turn decided while that batch's COMMIT is still syncing must not
    answer from the kept row (its own check lands in the next batch, which sees nothing
    new and would let the stale save through)."""
    from bot.storage import database

    await chat.send("/start")
    await chat.press("go:status")
    other = Chat(engine, user="u2")
    await other.send("/start")
    await run_sql_beside(
        settings.db_path,
        "UPDATE conversations SET state = 'automated.menu', offered = '[]' WHERE user_id = 'u1'",
    )
    held, release = threading.Event(), threading.Event()
    original = database._commit

    def held_commit(conn: Any) -> None:  # the first commit after the other connection's
        if not held.is_set():
            held.set()
            release.wait(30)
        original(conn)

    monkeypatch.setattr(database, "_commit", held_commit)
    first = asyncio.create_task(other.send("/help"))
    await asyncio.to_thread(held.wait, 30)
    second = asyncio.create_task(chat.send("/help"))
    while not db._waiting:  # noqa: ASYNC110 (the writer has no event for it) u1 queued
        await asyncio.sleep(0.005)
    release.set()
    await first
    result = await second
    assert result.state == "automated.menu"  # answered where the row says it is
    row = await db.fetchone("SELECT state FROM conversations WHERE user_id = 'u1'")
    assert row is not None and row["state"] == "automated.menu"
