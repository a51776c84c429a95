"""The in-person appointment request through the engine: type, identifier, reason,
checklist, phone number and ZIP code (the field office), preferred date; stored pending
review with a reference."""

from __future__ import annotations

from bot.engine import Engine
from flows import automated as flow
from tests.automated_paths import PHONE, ZIP, to_appointment_checklist
from tests.conftest import Chat


async def _conversation(engine: Engine) -> dict[str, object]:
    row = await engine.services.ports.db.fetchone(
        "SELECT state, slots, version FROM conversations WHERE user_id = 'u1'"
    )
    assert row is not None
    return dict(row)


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
    assert (await chat.press("apr:docs:yes")).state == flow.APR_PHONE
    assert (await chat.send("(315) 555-0187")).state == flow.APR_ZIP
    assert (await chat.send("13202")).state == flow.APR_DATE
    assert "Syracuse Field Office, 412 South Warren Street, Syracuse, NY 13202" in chat.text
    assert "cannot guarantee" in chat.text
    result = await chat.send("2026-12-01")
    assert result.state == flow.APR_SUBMITTED
    assert "December 1, 2026" in chat.text and "not a guaranteed date" in chat.text
    [stored] = await _requests(engine)
    assert stored["status"] == "pending_review"
    assert stored["request_type"] == "advance_parole"
    assert stored["identifier"] == "EAC2190000001"
    assert stored["preferred_date"] == "2026-12-01"
    assert stored["phone"] == "+13155550187" and stored["zip_code"] == "13202"
    assert str(stored["reference"]) in chat.text


async def test_a_number_is_normalised_and_date_can_be_skipped(chat: Chat, engine: Engine) -> None:
    await to_appointment_checklist(chat)
    await chat.press("apr:docs:yes")
    await chat.send(PHONE)
    await chat.send(ZIP)
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
    await chat.send(PHONE)
    await chat.send(ZIP)
    assert (await chat.send("2026-11-20")).state == flow.APR_DATE
    assert "isn't in the future" in chat.text
    assert (await chat.send("next friday")).state == flow.APR_DATE
    assert await _requests(engine) == []


async def test_a_bad_phone_number_is_asked_again_and_changes_nothing(
    chat: Chat, engine: Engine
) -> None:
    await to_appointment_checklist(chat)
    await chat.press("apr:docs:yes")
    before = await _conversation(engine)
    for typed in ("555-0143", "call me maybe", "+44 20 7946 0958", "(123) 555-0143"):
        assert (await chat.send(typed)).state == flow.APR_PHONE
        assert "doesn't look like a US phone number" in chat.text
        assert "(202) 555-0143" in chat.text  # the shape it wants, as an example
        assert await _conversation(engine) == before
    assert (await chat.send("+1 315 555 0187")).state == flow.APR_ZIP


async def test_an_unknown_or_non_us_zip_is_asked_again_and_changes_nothing(
    chat: Chat, engine: Engine
) -> None:
    await to_appointment_checklist(chat)
    await chat.press("apr:docs:yes")
    await chat.send(PHONE)
    before = await _conversation(engine)
    refusals = {
        "00000": "I don't know the ZIP code 00000",
        "99999": "I don't know the ZIP code 99999",
        "SW1A 1AA": "isn't a ZIP code I can read",  # a British postcode
        "K1A 0B1": "isn't a ZIP code I can read",  # a Canadian one
        "1320": "isn't a ZIP code I can read",
        "09001": "09001 is a military post code (APO/FPO/DPO) or a place outside",
        "96960": "96960 is a military post code (APO/FPO/DPO) or a place outside",  # Majuro
    }
    for typed, said in refusals.items():
        result = await chat.send(typed)
        assert result.state == flow.APR_ZIP, typed
        assert said in chat.text and "5-digit ZIP code" in chat.text, chat.text
        assert await _conversation(engine) == before, typed
    assert await _requests(engine) == []
    assert (await chat.send("13202-1234")).state == flow.APR_DATE
    assert "Syracuse Field Office" in chat.text


async def test_phone_and_zip_are_kept_when_a_later_answer_is_refused(
    chat: Chat, engine: Engine
) -> None:
    await to_appointment_checklist(chat)
    await chat.press("apr:docs:yes")
    await chat.send(PHONE)
    await chat.send("00000")  # refused: the phone number given before stays
    await chat.send("99501")
    assert chat.last is not None and chat.last.state == flow.APR_DATE
    assert "Anchorage Field Office" in chat.text
    await chat.send("tomorrow-ish")  # refused
    await chat.send("2026-11-01")  # refused: in the past
    await chat.press("apr:date:skip")
    [stored] = await _requests(engine)
    assert stored["phone"] == "+13155550187" and stored["zip_code"] == "99501"
