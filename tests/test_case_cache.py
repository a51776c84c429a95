"""Case records kept in memory between turns (bot/storage/cases.py): a case asked about
again is answered without reading the file, and never from a record that is no longer what
is stored, whoever changed it (an import in this process, one running beside the bot, a
rescheduled appointment)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.clock import FixedClock
from bot.engine import Engine
from bot.storage.cases import SqliteCases
from bot.storage.database import Database
from flows.case_records import CaseRecord
from tests.conftest import Chat, count_reads
from tests.pg_server import run_sql_beside

RECEIPT = "EAC2190000001"  # config/demo_cases.csv: "Case Was Received ..."
RECEIVED = "Case Was Received And A Receipt Notice Was Sent"
APPROVED = "Case Was Approved"


async def _status(chat: Chat, *, menu_first: bool = True) -> str:
    if menu_first:
        await chat.send("/menu")
    result = await chat.send(f"/status {RECEIPT}")
    return " ".join(r.text for r in result.replies)


async def test_a_case_asked_about_again_is_answered_from_memory(chat: Chat, db: Database) -> None:
    assert RECEIVED in await _status(chat)
    reads = count_reads(db, "cases")
    assert RECEIVED in await _status(chat)
    assert RECEIVED in await _status(Chat(chat.engine, user="u2"))
    assert len(reads) == (0 if db.keeps_rows else 2)


async def test_an_import_in_this_process_is_answered_at_once(
    engine: Engine, chat: Chat, db: Database, clock: FixedClock
) -> None:
    assert RECEIVED in await _status(chat)
    cases = engine.services.ports.cases
    record = CaseRecord(RECEIPT, "I-485", APPROVED, date(2026, 11, 20))
    await db.commit(cases.upsert_rows([record.db_params()], clock.now()))  # as an import
    answer = await _status(chat)
    assert APPROVED in answer and RECEIVED not in answer


async def test_a_rescheduled_appointment_drops_the_kept_case(
    engine: Engine, chat: Chat, db: Database, clock: FixedClock
) -> None:
    await _status(chat)
    cases = engine.services.ports.cases
    at = clock.now().replace(hour=9)
    await db.commit([cases.rescheduled_biometrics(RECEIPT, at, "nyc", 0, clock.now())])
    found = await cases.find(RECEIPT)
    assert found.record is not None and found.record.biometrics_reschedules == 1


async def test_an_import_by_another_process_is_never_answered_from_memory(
    engine: Engine, chat: Chat, db: Database
) -> None:
    """The import beside the bot commits on its own connection: the writer has not seen it
    when the next turn reads the case. A new conversation (no kept row of its own, so its
    save checks nothing) still answers the new status: the turn decided on a kept case is
    refused by the writer and decided again on the case as stored."""
    assert RECEIVED in await _status(chat)
    await run_sql_beside(
        db.location,
        f"UPDATE cases SET status_title = '{APPROVED}' WHERE receipt_number = '{RECEIPT}'",
    )
    # The first turn after the import: no other commit has shown it to the writer yet.
    answer = await _status(Chat(engine, user="u2"), menu_first=False)
    assert APPROVED in answer and RECEIVED not in answer
    answer = await _status(chat)
    assert APPROVED in answer and RECEIVED not in answer


async def test_a_case_read_while_a_write_commits_is_not_kept(engine: Engine, db: Database) -> None:
    """A read overtaken by a write to the table (dropped meanwhile) may be older than the
    write: it is answered, but not kept."""
    cases = engine.services.ports.cases
    assert isinstance(cases, SqliteCases)
    original = db.fetchone

    async def overtaken(sql: str, params: Any = ()) -> Any:
        row = await original(sql, params)
        cases.forget_all()  # as a write to the table committed meanwhile does
        return row

    db.fetchone = overtaken  # type: ignore[method-assign]
    await cases.find(RECEIPT)
    db.fetchone = original  # type: ignore[method-assign]
    reads = count_reads(db, "cases")
    await cases.find(RECEIPT)
    assert len(reads) == 1


async def test_the_watchers_poll_reads_the_file(engine: Engine, db: Database) -> None:
    cases = engine.services.ports.cases
    await cases.find(RECEIPT)
    reads = count_reads(db, "cases")
    await cases.refresh(RECEIPT)
    assert len(reads) == 1
