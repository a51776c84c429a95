"""The in-person appointment request through the engine: type, identifier, reason,
checklist, preferred date; stored pending review with a reference."""

from __future__ import annotations

from bot.engine import Engine
from flows import automated as flow
from tests.automated_paths import to_appointment_checklist
from tests.conftest import Chat


async def _requests(engine: Engine) -> list[dict[str, object]]:
    rows = await engine.services.ports.db.fetchall("SELECT * FROM appointment_requests")
    return [dict(r) for r in rows]


async def test_request_with_preferred_date_is_stored_pending_review(
    chat: Chat, engine: Engine
) -> None:
    await chat.send("/start")
    assert (await chat.press("go:appointment")).state == flow.APR_TYPE
    assert (await chat.press("apr:type:advance_parole")).state == flow.APR_IDENTIFIER
    assert (await chat.send("eac-21-900-00001")).state == flow.APR_REASON
    result = await chat.send("My father is gravely ill abroad and I must travel this week")
    assert result.state == flow.APR_CHECKLIST
    assert "Form I-131" in chat.text and "doctor" in chat.text
    assert (await chat.press("apr:docs:yes")).state == flow.APR_DATE
    assert "cannot guarantee" in chat.text
    result = await chat.send("2026-12-01")
    assert result.state == flow.APR_SUBMITTED
    assert "December 1, 2026" in chat.text and "not a guaranteed date" in chat.text
    [stored] = await _requests(engine)
    assert stored["status"] == "pending_review"
    assert stored["request_type"] == "advance_parole"
    assert stored["identifier"] == "EAC2190000001"
    assert stored["preferred_date"] == "2026-12-01"
    assert str(stored["reference"]) in chat.text


async def test_a_number_is_normalised_and_date_can_be_skipped(chat: Chat, engine: Engine) -> None:
    await to_appointment_checklist(chat)
    await chat.press("apr:docs:yes")
    result = await chat.press("apr:date:skip")
    assert result.state == flow.APR_SUBMITTED
    [stored] = await _requests(engine)
    assert stored["identifier"] == "A012345678" and stored["preferred_date"] is None
    assert stored["request_type"] == "adit"


async def test_missing_documents_explains_and_keeps_the_step(chat: Chat) -> None:
    await to_appointment_checklist(chat)
    result = await chat.press("apr:docs:no")
    assert result.state == flow.APR_CHECKLIST
    assert "apr:docs:yes" in chat.buttons


async def test_bad_answers_get_specific_replies_and_change_nothing(
    chat: Chat, engine: Engine
) -> None:
    await chat.send("/start")
    await chat.press("go:appointment")
    await chat.press("apr:type:ij_grant")
    assert (await chat.send("my name is Ana")).state == flow.APR_IDENTIFIER
    assert "A-number" in chat.text
    assert (await chat.send("A123")).state == flow.APR_IDENTIFIER
    assert (await chat.send("EAC21900OOOO1")).state == flow.APR_IDENTIFIER
    assert "found O" in chat.text
    await chat.send("A1234567")
    assert (await chat.send("soon")).state == flow.APR_REASON
    await chat.send("The judge granted relief and I need my documents")
    await chat.press("apr:docs:yes")
    assert (await chat.send("2026-11-20")).state == flow.APR_DATE
    assert "isn't in the future" in chat.text
    assert (await chat.send("next friday")).state == flow.APR_DATE
    assert await _requests(engine) == []
