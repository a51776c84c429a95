"""The officers' desk: the queue, taking an item, and the outcomes the applicant is told
about through the outbox (appointment, resolution, two unanswered calls)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.engine import ConversationKey, Engine
from bot.staff.desk import DeskError, StaffDesk
from bot.storage.database import Database, Write
from tests.conftest import Chat
from tests.tier_journeys import book, engine_with

_ET = ZoneInfo("America/New_York")


async def _pending_request(
    db: Database,
    reference: str,
    request_type: str,
    user: str = "req",
    zip_code: str | None = None,
) -> None:
    await db.commit(
        [
            Write(
                "INSERT INTO appointment_requests (reference, channel, user_id, request_type,"
                " identifier, reason, status, created_at, updated_at, zip_code) VALUES (?,"
                " 'console', ?, ?, 'EAC2199999999', 'travel', 'pending_review',"
                " '2026-11-20T15:00:00+00:00', '2026-11-20T15:00:00+00:00', ?)",
                (reference, user, request_type, zip_code),
            )
        ]
    )


async def test_queue_lists_every_item_by_when_it_is_due(engine: Engine, db: Database) -> None:
    reference = await book(Chat(engine, "caller"), issue="biometrics_not_online")
    await _pending_request(db, "AR-100", "ADIT stamp")
    items = await StaffDesk.of(engine.services).queue(engine.now())
    # The request came in on Friday 10:00 and is urgent (proof of status): due 72 hours
    # later, Monday 10:00, before the callback booked for 11:00.
    assert [i.reference for i in items] == ["AR-100", reference]
    request, callback = items
    assert request.urgent and request.due_at == datetime(2026, 11, 23, 10, 0, tzinfo=_ET)
    assert callback.kind == "callback" and callback.due_at is not None
    assert callback.urgent  # a biometrics appointment that cannot be moved online
    assert "***-***-**43" in callback.summary and "555-0143" not in callback.summary
    assert request.kind == "appointment_request" and request.category == "proof_of_status"
    assert "EAC2199999999" not in request.summary  # masked


async def test_an_item_taken_by_one_officer_cannot_be_taken_by_another(engine: Engine) -> None:
    reference = await book(Chat(engine))
    desk = StaffDesk.of(engine.services)
    item = await desk.take(reference, "officer-1", engine.now())
    assert item.status == "taken"
    with pytest.raises(DeskError, match="already taken by officer-1"):
        await desk.take(reference, "officer-2", engine.now())
    with pytest.raises(DeskError, match="No open item"):
        await desk.take("CB-NOPE99", "officer-2", engine.now())


async def test_two_no_answers_close_the_inquiry(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    chat = Chat(engine)
    reference = await book(chat)
    desk = StaffDesk.of(engine.services)
    clock.set(datetime(2026, 11, 23, 11, 5))
    first = await desk.complete(reference, "no-answer", None, "officer-1", engine.now())
    assert "second attempt" in first.summary
    await chat.send("/menu")
    assert "try once more on Tuesday, November 24, 2026, 11:00 a.m." in chat.text
    assert [i.reference for i in await desk.queue(engine.now())] == [reference]
    clock.set(datetime(2026, 11, 24, 11, 5))
    second = await desk.complete(reference, "no-answer", None, "officer-1", engine.now())
    assert "closed" in second.summary
    await chat.send("/menu")
    assert "inquiry is closed" in chat.text and "start a new inquiry" in chat.text
    assert await desk.queue(engine.now()) == []
    with pytest.raises(DeskError, match="nothing left to do"):
        await desk.complete(reference, "resolved", None, "officer-1", engine.now())


async def test_appointment_is_booked_five_business_days_after_a_wednesday_call(
    engine: Engine, clock
) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime(2026, 11, 25, 9, 0))  # Wednesday before Thanksgiving
    chat = Chat(engine)
    reference = await book(chat, issue="inperson_need", need="proof_of_status", evidence="yes")
    clock.set(datetime(2026, 11, 25, 11, 5))
    done = await StaffDesk.of(engine.services).complete(
        reference, "appointment", None, "officer-1", engine.now()
    )
    assert "New York City Field Office" in done.summary  # ZIP 10278
    assert "Thursday, December 3, 2026, 8:00 a.m." in done.summary
    await chat.send("/menu")
    assert "Thursday, December 3, 2026, 8:00 a.m." in chat.text
    assert "26 Federal Plaza" in chat.text
    assert "green card" in chat.text and "I-94" in chat.text  # what to bring for the category


async def test_office_capacity_is_never_exceeded(tmp_path: Path) -> None:
    async with engine_with(tmp_path, slot_capacity=10) as (engine, _clock):
        refs = [
            await book(Chat(engine, f"u{n}"), issue="inperson_need", need="daca", evidence="yes")
            for n in range(7)
        ]
        desk = StaffDesk.of(engine.services)
        await asyncio.gather(
            *(desk.complete(r, "appointment", None, "o", engine.now()) for r in refs)
        )
        rows = await engine.services.ports.db.fetchall(
            "SELECT at, COUNT(*) AS n FROM field_appointments GROUP BY at ORDER BY at"
        )
        # New York: capacity 6 per slot; the seventh gets the next slot.
        assert [r["n"] for r in rows] == [6, 1]


async def test_resolved_by_phone_tells_the_applicant_with_the_note(engine: Engine) -> None:
    chat = Chat(engine)
    reference = await book(chat)
    desk = StaffDesk.of(engine.services)
    assert await desk.references_for(ConversationKey("console", "u1")) == [reference]
    await desk.complete(reference, "resolved", "Your file was updated.", "o", engine.now())
    await chat.send("/menu")
    assert "resolved" in chat.text and "Your file was updated." in chat.text
    assert await desk.references_for(ConversationKey("console", "u1")) == []


async def test_pending_request_from_the_automated_tier_gets_an_appointment(
    engine: Engine, db: Database
) -> None:
    await _pending_request(db, "AR-200", "Emergency Advance Parole", zip_code="13202")
    desk = StaffDesk.of(engine.services)
    assert await desk.references_for(ConversationKey("console", "req")) == ["AR-200"]
    await desk.take("AR-200", "o", engine.now())
    done = await desk.complete("AR-200", "appointment", None, "o", engine.now())
    assert "Syracuse Field Office" in done.summary  # the ZIP code the applicant gave
    row = await db.fetchone("SELECT status FROM appointment_requests WHERE reference = 'AR-200'")
    assert row is not None and row["status"] == "scheduled"
    chat = Chat(engine, "req")
    await chat.send("/menu")
    assert "signed Form I-131" in chat.text


async def test_a_request_without_a_usable_zip_gets_no_default_office(
    engine: Engine, db: Database
) -> None:
    """A request stored before ZIP codes were asked (and no case on file gives one) is
    refused an appointment with a clear line, and stays open: no office is guessed."""
    await _pending_request(db, "AR-300", "ADIT stamp")
    desk = StaffDesk.of(engine.services)
    await desk.take("AR-300", "o", engine.now())
    with pytest.raises(DeskError, match="AR-300: no usable ZIP code is known"):
        await desk.complete("AR-300", "appointment", None, "o", engine.now())
    row = await db.fetchone("SELECT status FROM appointment_requests WHERE reference = 'AR-300'")
    assert row is not None and row["status"] == "in_review"
    assert await db.fetchone("SELECT * FROM field_appointments") is None
    [item] = await desk.queue(engine.now())
    assert item.reference == "AR-300"


async def test_unknown_outcome_is_refused(engine: Engine) -> None:
    reference = await book(Chat(engine))
    with pytest.raises(DeskError, match="Unknown outcome"):
        await StaffDesk.of(engine.services).complete(reference, "maybe", None, "o", engine.now())


async def test_simulated_officer_completes_callbacks_once_their_time_has_passed(
    tmp_path: Path,
) -> None:
    async with engine_with(tmp_path, simulate_officer=True) as (engine, clock):
        chat = Chat(engine)
        reference = await book(chat, issue="inperson_need", need="parole_in_place", evidence="yes")
        await chat.send("/menu")
        assert "appointment" not in chat.text
        clock.set(datetime(2026, 11, 23, 11, 0))  # the slot
        await chat.send("/menu")
        assert f"in-person appointment (reference {reference})" in chat.text
        assert "military service" in chat.text
