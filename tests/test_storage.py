"""Storage: migrations, refusal of a newer schema, clear errors for bad paths, and the
group commit's all-or-nothing and precondition behaviour."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from pathlib import Path

import pytest

from bot.storage import database
from bot.storage.database import Conflict, Database, StorageError, Write
from bot.storage.migrations import latest_version


async def test_a_new_file_is_migrated_to_the_latest_schema(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "dir" / "new.db"
    async with await Database.open(path) as db:
        row = await db.fetchone("SELECT MAX(version) AS v FROM schema_version")
        assert row is not None and row["v"] == latest_version()
        mode = await db.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"
        tables = {
            r["name"]
            for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert {"conversations", "transitions", "turns", "outbox", "cases"} <= tables


async def test_a_batch_keeps_its_savepoint_journal_in_memory(tmp_path: Path) -> None:
    """A batch of many turns changes many pages under one savepoint; past 64 KiB SQLite
    would write their journal to a temporary file, page by page, on the event loop's
    thread (docs/performance.md, fifth part)."""
    async with await Database.open(tmp_path / "t.db") as db:
        writer = db._writer._conn
        assert writer.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
        await db.commit([Write("CREATE TABLE big (n INTEGER, pad TEXT)")])
        rows = [Write("INSERT INTO big VALUES (?, ?)", (n, "x" * 2000)) for n in range(200)]
        assert await db.commit(rows) == [1] * 200  # ~100 pages changed, one savepoint
        row = await db.fetchone("SELECT COUNT(*) FROM big")
        assert row is not None and row[0] == 200


async def test_opening_twice_applies_no_migration_again(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    async with await Database.open(path):
        pass
    async with await Database.open(path) as db:
        rows = await db.fetchall("SELECT version FROM schema_version")
        assert [r["version"] for r in rows] == sorted({r["version"] for r in rows})


async def test_a_database_from_a_newer_tierline_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    async with await Database.open(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (999, 'from the future', 'now')")
    with pytest.raises(StorageError, match="newer than this Tierline"):
        await Database.open(path)


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StorageError, match=r"notes\.db"):
        await Database.open(path)


async def test_a_path_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot"):
        await Database.open(blocker / "tierline.db")


async def test_a_failed_precondition_keeps_nothing_of_that_caller(db: Database) -> None:
    await db.commit([Write("CREATE TABLE slot (n INTEGER)")])
    with pytest.raises(Conflict):
        await db.commit(
            [
                Write("INSERT INTO slot VALUES (1)"),
                Write("UPDATE slot SET n = 2 WHERE n = 42", expect_rows=1),
            ]
        )
    row = await db.fetchone("SELECT COUNT(*) AS c FROM slot")
    assert row is not None and row["c"] == 0


async def test_concurrent_callers_share_commits_but_not_failures(db: Database) -> None:
    await db.commit([Write("CREATE TABLE seat (id INTEGER PRIMARY KEY, taken_by TEXT)")])
    await db.commit([Write("INSERT INTO seat (id) VALUES (1), (2), (3)")])
    commits_before = db.commits

    async def take(who: str) -> bool:
        try:
            await db.commit(
                [
                    Write(
                        "UPDATE seat SET taken_by = ? WHERE id = "
                        "(SELECT id FROM seat WHERE taken_by IS NULL ORDER BY id LIMIT 1)",
                        (who,),
                        expect_rows=1,
                    )
                ]
            )
        except Conflict:
            return False
        return True

    outcomes = await asyncio.gather(*(take(f"p{i}") for i in range(20)))
    assert outcomes.count(True) == 3
    assert db.commits - commits_before < 20  # commits were shared
    rows = await db.fetchall("SELECT taken_by FROM seat WHERE taken_by IS NOT NULL")
    assert len(rows) == 3


async def test_a_batch_with_one_failing_group_keeps_every_other_group_once(db: Database) -> None:
    """Groups are first applied together under one savepoint; when one fails, the batch is
    applied again group by group: the others are kept exactly once, the failing one not at
    all, whatever its place in the batch."""
    await db.commit([Write("CREATE TABLE log (who TEXT, step INTEGER)")])

    async def group(who: str, fails: bool) -> str:
        writes = [Write("INSERT INTO log VALUES (?, 1)", (who,))]
        writes.append(
            Write("INSERT INTO no_such_table VALUES (1)")
            if fails
            else Write("INSERT INTO log VALUES (?, 2)", (who,))
        )
        try:
            await db.commit(writes)
        except StorageError:
            return "refused"
        return "kept"

    names = [f"g{i}" for i in range(12)]
    outcomes = await asyncio.gather(*(group(n, n in ("g0", "g5", "g11")) for n in names))
    assert outcomes.count("refused") == 3
    rows = await db.fetchall("SELECT who, step FROM log ORDER BY who, step")
    kept = [n for n in names if n not in ("g0", "g5", "g11")]
    assert sorted((r["who"], r["step"]) for r in rows) == sorted(
        (n, step) for n in kept for step in (1, 2)
    )


async def test_a_write_the_database_refuses_is_a_storage_error(db: Database) -> None:
    with pytest.raises(StorageError, match="refused"):
        await db.commit([Write("INSERT INTO no_such_table VALUES (1)")])


async def test_checkpoints_run_between_batches_and_nothing_is_lost_across_a_reopen(
    tmp_path: Path,
) -> None:
    """Autocheckpoint is off on the writer; the writer checkpoints between batches. What was
    committed before, across and after checkpoints is all there after a reopen."""
    path = tmp_path / "t.db"
    db = await Database.open(path)
    await db.commit([Write("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")])

    async def put(k: int) -> None:
        await db.commit([Write("INSERT INTO kv VALUES (?, ?)", (k, f"v{k}"))])

    await asyncio.gather(*(put(k) for k in range(200)))
    before = db.checkpoints
    await db.checkpoint()
    assert db.checkpoints == before + 1
    for k in range(200, 400):  # one at a time: the queue is idle after each commit
        await put(k)
    assert db.checkpoints > before + 1  # the writer checkpointed on its own, when idle
    await db.close()
    # The WAL itself, copied back or not, keeps every commit: reopen and count.
    db = await Database.open(path)
    try:
        row = await db.fetchone("SELECT COUNT(*), MIN(k), MAX(k) FROM kv")
        assert row is not None and tuple(row) == (400, 0, 399)
    finally:
        await db.close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("SELECT v FROM kv WHERE k = 399").fetchone() == ("v399",)
    finally:
        raw.close()


def _file_size(path: Path) -> int:
    return path.stat().st_size


async def test_the_wal_stays_bounded_when_commits_never_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one checkpoint copies the WAL back, the writer commits more, so under load that
    never pauses the WAL could never start over: it grew by every commit (~350 MB in 3 s of
    a busy loop). Past the limit the writer copies the last frames back itself; the WAL
    starts over and its file is cut back to the limit. Every commit is still there."""
    limit = 1 << 20
    monkeypatch.setattr(database, "WAL_LIMIT_BYTES", limit)
    monkeypatch.setattr(database, "WAL_TOP_UP_COMMITS", 1000)  # a slow disk still tops up
    path = tmp_path / "t.db"
    db = await Database.open(path)
    await db.commit([Write("CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB)")])
    sizes = [0]

    async def writer(w: int) -> None:
        for k in range(250):  # 20 writers: the queue is never empty until the end
            await db.commit([Write("INSERT INTO kv VALUES (?, ?)", (w * 1000 + k, bytes(1500)))])
            sizes.append(_file_size(Path(f"{path}-wal")))

    try:
        await asyncio.gather(*(writer(w) for w in range(20)))
        # 5,000 rows of 1.5 KB went through the WAL: without the bound it held them all (~70 MB)
        assert max(sizes) < 12 * limit
        # and each time the writer waited for a checkpoint, the WAL did start over after it
        # (a wait that found another checkpoint running copied nothing, and came again)
        cut_back = sum(1 for a, b in itertools.pairwise(sizes) if b < a)
        assert isinstance(db, database.SqliteDatabase)
        assert 0 < db.top_ups <= cut_back + 1, (db.top_ups, cut_back)
        row = await db.fetchone("SELECT COUNT(*) FROM kv")
        assert row is not None and row[0] == 5000
    finally:
        await db.close()


async def test_a_reader_that_holds_the_wal_back_is_not_fought_after_every_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connection reading an older state of the database keeps the WAL from starting
    over. The writer then leaves the limit alone for a while instead of a checkpoint and a
    wait after every batch; once the reader is done, the WAL starts over again."""
    limit = 256 << 10
    monkeypatch.setattr(database, "WAL_LIMIT_BYTES", limit)
    path = tmp_path / "t.db"
    db = await Database.open(path)
    assert isinstance(db, database.SqliteDatabase)
    await db.commit([Write("CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB)")])
    other = sqlite3.connect(path, isolation_level=None)

    async def put(keys: range) -> list[int]:
        sizes = []
        for k in keys:
            await db.commit([Write("INSERT INTO kv VALUES (?, ?)", (k, bytes(1500)))])
            sizes.append(_file_size(Path(f"{path}-wal")))
        return sizes

    try:
        other.execute("BEGIN")
        other.execute("SELECT COUNT(*) FROM kv").fetchone()  # holds its state until COMMIT
        held = await put(range(400))
        assert max(held) > 2 * limit  # the reader did hold the WAL back
        # fighting it after every batch took 200 waits in these 400 commits
        assert db.top_ups <= 400 // database.WAL_RETRY_AFTER + 2, db.top_ups
        other.execute("COMMIT")
        after = await put(range(400, 800))
        assert any(b < a for a, b in itertools.pairwise(after))  # it started over
        assert after[-1] <= 2 * limit
        row = await db.fetchone("SELECT COUNT(*) FROM kv")
        assert row is not None and row[0] == 800
    finally:
        other.close()
        await db.close()


async def test_a_batch_waits_for_another_process_write_lock_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    """The writer takes the write lock on the loop's thread only when it is free at once;
    held by another connection, it is waited for in the writer's thread: the loop goes on,
    and the batch is committed once the other transaction ends."""
    path = tmp_path / "t.db"
    db = await Database.open(path)
    try:
        await db.commit([Write("CREATE TABLE kv (k INTEGER PRIMARY KEY)")])
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            other.execute("BEGIN IMMEDIATE")  # free now: taken at once, no wait
            other.execute("INSERT INTO kv VALUES (1)")
            waiting = asyncio.create_task(db.commit([Write("INSERT INTO kv VALUES (2)")]))
            for _ in range(20):  # the loop runs while the writer waits for the lock
                await asyncio.sleep(0.01)
            assert not waiting.done()
            other.execute("COMMIT")  # holds the lock: ends at once
            assert await waiting == [1]
        finally:
            other.close()
        row = await db.fetchone("SELECT COUNT(*) FROM kv")
        assert row is not None and row[0] == 2
        await db.commit([Write("INSERT INTO kv VALUES (3)")])  # the lock is free again
    finally:
        await db.close()


async def test_a_short_read_runs_at_once_and_a_long_one_in_the_readers_thread(
    tmp_path: Path,
) -> None:
    """A point lookup is answered on the loop's thread without suspending the caller (no
    hop); a read that runs longer than SQLite's step budget there is stopped and run whole
    in the reader's thread (the caller suspends), with every row; a bad read fails alone."""
    db = await Database.open(tmp_path / "t.db")
    try:
        await db.commit([Write("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)")])
        await db.commit([Write("INSERT INTO kv VALUES (?, 'v')", (k,)) for k in range(20_000)])
        short = db.fetchone("SELECT v FROM kv WHERE k = ?", (7,))
        with pytest.raises(StopIteration) as answered:
            short.send(None)  # finished at the first step: it never waited for anything
        assert answered.value.value["v"] == "v"
        long = asyncio.ensure_future(db.fetchall("SELECT k FROM kv WHERE v LIKE '%v%'"))
        point = asyncio.ensure_future(db.fetchone("SELECT v FROM kv WHERE k = 1"))
        await asyncio.sleep(0)
        assert not long.done()  # handed over: it runs in the reader's thread
        assert len(await long) == 20_000
        assert (await point)["v"] == "v"  # asked while the long one was away: after it
        with pytest.raises(StorageError):
            await db.fetchone("SELECT * FROM missing")
        assert (await db.fetchone("SELECT COUNT(*) FROM kv"))[0] == 20_000
    finally:
        await db.close()
