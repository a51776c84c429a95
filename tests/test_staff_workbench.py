"""The officer's workbench through the staff desk, in process: the full record only for the
officer who took the item (each showing audited, nothing in the log), release and
hand-over, the service-request queue, outcomes that fit, and bad input that changes
nothing."""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.engine import Engine
from bot.staff.desk import DeskError, StaffDesk
from bot.storage.database import Database
from flows.callbacks import CallbackRecord
from tests.conftest import Chat
from tests.tier_journeys import book, engine_with

TABLES = (
    "callbacks",
    "appointment_requests",
    "service_requests",
    "field_appointments",
    "biometrics_bookings",
    "cases",
    "outbox",
    "inquiry_attempts",
    "staff_views",
)


async def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    return {t: [tuple(r) for r in await db.fetchall(f"SELECT * FROM {t}")] for t in TABLES}


async def _refused(engine: Engine, db: Database, call: Any, match: str) -> None:
    """`call` is refused with a one-line DeskError matching `match`, and nothing changed."""
    before = await _snapshot(db)
    with pytest.raises(DeskError, match=match) as refused:
        await call
    assert "\n" not in str(refused.value)
    assert await _snapshot(db) == before


async def test_the_full_record_only_for_the_officer_who_took_it_and_each_view_audited(
    engine: Engine, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    chat = Chat(engine)
    reference = await book(
        chat, role="petitioner", issue="inperson_need", need="daca", evidence="no"
    )
    desk = StaffDesk.of(engine.services)
    caplog.clear()  # from here on, only what the desk does is logged
    [item] = await desk.queue(engine.now())
    assert "555-0143" not in item.summary and "***-***-**43" in item.summary
    await _refused(engine, db, desk.show(reference, "kim", engine.now()), "take it first")

    view = await desk.take(reference.lower(), "kim", engine.now())
    assert view.phone == "(202) 555-0143"
    assert (view.role, view.role_rule) == ("petitioner", "role.petitioner")
    assert (view.item.category, view.category_rule) == ("daca", "inperson.daca.no_evidence")
    assert view.urgency_rule == "urgency.regular"
    assert view.escalation_reason == "entry.asked_for_person"
    assert dict(view.answers) == {
        "issue": "I need an in-person visit",
        "need": "DACA",
        "evidence": "No, not yet",
    }
    assert [(a.outcome, a.staff_id) for a in view.history] == [("taken", "kim")]
    text = desk.lines.view(view)
    assert "Phone: (202) 555-0143" in text and "the petitioner (role.petitioner)" in text

    await _refused(engine, db, desk.show(reference, "lee", engine.now()), "already taken by kim")
    await desk.show(reference, "kim", engine.now())
    views = await engine.services.ports.audit.views_of(reference)
    assert [(v.staff_id, v.what.split(":")[0]) for v in views] == [("kim", "take"), ("kim", "show")]
    assert "phone" in views[0].what and views[0].at == engine.now()
    # Logged at DEBUG, and still nothing of the view (nor aiosqlite's statement parameters).
    assert "0143" not in caplog.text and "petitioner" not in caplog.text


async def test_a_representative_with_a_g28_and_the_receipt_given_at_the_zip_question(
    engine: Engine,
) -> None:
    chat = Chat(engine)
    await chat.press("nav:agent")
    await chat.press("role:representative_g28")
    await chat.press("issue:something_else")
    await chat.press(next(b for b in chat.buttons if b.startswith("day:")))
    await chat.press(next(b for b in chat.buttons if b.startswith("slot:")))
    await chat.send("202 555 0143")
    assert chat.last is not None and chat.last.state == "tier2.zip"
    await chat.send("eac 21 900 00001")
    assert "the officer will have case EAC2190000001 at hand" in chat.text
    await chat.send("10278")
    await chat.press("confirm:yes")
    [reference] = await StaffDesk.of(engine.services).references_for(chat.key)
    view = await StaffDesk.of(engine.services).take(reference, "kim", engine.now())
    assert view.receipt == "EAC2190000001"
    assert view.case is not None and "Case Was Received" in view.case
    assert view.role == "representative_g28" and view.g28_on_file is True


async def test_release_and_hand_over(engine: Engine, db: Database) -> None:
    reference = await book(Chat(engine))
    desk = StaffDesk.of(engine.services)
    now = engine.now()
    await _refused(engine, db, desk.release(reference, "kim", now), "take it first")
    await desk.take(reference, "kim", now)
    await _refused(engine, db, desk.hand_over(reference, "kim", "kim", now), "another officer")
    await _refused(engine, db, desk.release(reference, "lee", now), "already taken by kim")
    done = await desk.hand_over(reference, "kim", "lee", now)
    assert done.summary == f"{reference} is now with lee."
    await _refused(engine, db, desk.show(reference, "kim", now), "already taken by lee")
    assert (await desk.show(reference, "lee", now)).item.taken_by == "lee"
    await desk.release(reference, "lee", now)
    [item] = await desk.queue(now)
    assert (item.status, item.taken_by) == ("booked", None)
    view = await desk.take(reference, "kim", now)
    assert [a.outcome for a in view.history] == ["taken", "handed-over", "released", "taken"]
    assert view.history[1].note == "to lee"


async def test_bad_input_gets_one_line_and_changes_nothing(engine: Engine, db: Database) -> None:
    desk = StaffDesk.of(engine.services)
    now = engine.now()
    regular = await book(Chat(engine, "r"), issue="inperson_need", need="daca", evidence="yes")
    urgent = await book(Chat(engine, "u"), issue="emergency", need="other", evidence="yes")
    for call, match in (
        (desk.take("CB-NOPE99", "kim", now), "No open item has the reference CB-NOPE99"),
        (desk.complete(regular, "maybe", None, "kim", now), "Unknown outcome maybe"),
        (desk.complete(regular, "biometrics", None, "kim", now), "does not fit"),
        (desk.complete(regular, "refused", None, "kim", now), "needs the reason"),
        (desk.complete(regular, "resolved", None, "kim", now, at=date(2026, 12, 1)), "only"),
        (
            desk.complete(regular, "appointment", None, "kim", now, at=date(2026, 11, 24)),
            "only for an emergency",
        ),
        (
            desk.complete(regular, "appointment", None, "kim", now, at=date(2026, 11, 28)),
            "weekend or a federal holiday",
        ),
        (
            desk.complete(
                urgent, "appointment", None, "kim", now, at=datetime(2026, 11, 24, 16, 0)
            ),
            "outside the appointment times",
        ),
    ):
        await _refused(engine, db, call, match)
    await desk.take(urgent, "kim", now)
    await _refused(
        engine, db, desk.complete(urgent, "resolved", None, "lee", now), "already taken by kim"
    )


async def test_an_emergency_visit_on_an_earlier_day_within_capacity(tmp_path: Path) -> None:
    async with engine_with(tmp_path, slot_capacity=10) as (engine, _clock):
        db = engine.services.ports.db
        desk = StaffDesk.of(engine.services)
        refs = [
            await book(Chat(engine, f"u{n}"), issue="emergency", need="other", evidence="yes")
            for n in range(7)
        ]
        tuesday_9 = datetime(2026, 11, 24, 9, 0, tzinfo=engine.now().tzinfo)
        for ref in refs[:6]:  # New York: six a slot
            await desk.complete(ref, "appointment", None, "kim", engine.now(), at=tuesday_9)
        await _refused(
            engine,
            db,
            desk.complete(refs[6], "appointment", None, "kim", engine.now(), at=tuesday_9),
            "no room left at that time",
        )
        done = await desk.complete(
            refs[6], "appointment", None, "kim", engine.now(), at=tuesday_9.date()
        )
        assert "Tuesday, November 24, 2026, 8:00 a.m." in done.summary  # the day's first
        chat = Chat(engine, "u6")
        await chat.send("/menu")
        assert "Tuesday, November 24, 2026, 8:00 a.m." in chat.text
        assert "proof of the emergency" in chat.text  # an emergency, category "other"


async def test_something_else_is_never_asked_for_proof_of_an_emergency(engine: Engine) -> None:
    chat = Chat(engine)
    reference = await book(chat, issue="inperson_need", need="other", evidence="yes")
    await StaffDesk.of(engine.services).complete(reference, "appointment", None, "o", engine.now())
    await chat.send("/menu")
    assert "in-person appointment" in chat.text and "emergency" not in chat.text
    assert "why you need to be seen in person" in chat.text


async def test_an_appointment_request_unanswered_twice_is_closed(
    engine: Engine, db: Database
) -> None:
    chat = Chat(engine, "req")
    await chat.send("/start")
    await chat.press("go:appointment")
    await chat.press("apr:type:adit")
    await chat.send("A12345678")
    await chat.send("I need proof of status for a new job that starts soon")
    await chat.press("apr:docs:yes")
    await chat.send("(315) 555-0143")
    await chat.send("13202")
    await chat.press("apr:date:skip")
    [reference] = await StaffDesk.of(engine.services).references_for(chat.key)
    desk = StaffDesk.of(engine.services)
    await desk.take(reference, "kim", engine.now())
    first = await desk.complete(reference, "no-answer", None, "kim", engine.now())
    assert "back in the queue" in first.summary
    [item] = await desk.queue(engine.now())
    assert (item.status, item.taken_by, item.urgent) == ("pending_review", None, True)
    second = await desk.complete(reference.lower(), "no-answer", None, "lee", engine.now())
    assert "closed" in second.summary
    await chat.send("/menu")
    assert "couldn't reach you" in chat.text and "inquiry is closed" in chat.text
    assert await desk.queue(engine.now()) == []


async def test_a_biometrics_callback_without_a_receipt_needs_one(
    engine: Engine, db: Database
) -> None:
    chat = Chat(engine)
    reference = await book(chat, issue="biometrics_not_online")
    desk = StaffDesk.of(engine.services)
    await _refused(
        engine,
        db,
        desk.complete(reference, "biometrics", None, "kim", engine.now()),
        "has no receipt number",
    )
    await _refused(
        engine,
        db,
        desk.complete(reference, "biometrics", None, "kim", engine.now(), receipt="EAC2190000001"),
        "has no biometrics appointment",
    )
    done = await desk.complete(
        reference, "biometrics", None, "kim", engine.now(), receipt="eac-23-120-12001"
    )
    assert "reschedule number 2" in done.summary  # the case had been moved once online
    row = await db.fetchone(
        "SELECT biometrics_reschedules FROM cases WHERE receipt_number = 'EAC2312012001'"
    )
    assert row is not None and row["biometrics_reschedules"] == 2


def test_callback_record_carries_who_is_asking() -> None:
    fields = CallbackRecord.__struct_fields__
    assert {"role", "triage_rule", "escalation_reason", "evidence"} <= set(fields)
