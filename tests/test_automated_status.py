"""Case status through the engine: asked for, typed anywhere, /status, errors, and the
way up to a person."""

from __future__ import annotations

import json

import pytest

from bot.assembly import create_engine
from bot.engine import Engine
from bot.storage.cases import CaseLookupFailed
from bot.storage.database import Write
from flows import automated as flow
from tests.automated_paths import WALK_TO
from tests.conftest import Chat


async def _slots(engine: Engine, chat: Chat) -> dict[str, object]:
    row = await engine.services.ports.db.fetchone(
        "SELECT slots FROM conversations WHERE user_id = ?", (chat.key.user_id,)
    )
    assert row is not None
    return json.loads(row["slots"])  # type: ignore[no-any-return]


async def test_status_from_the_menu_explains_title_meaning_and_next_step(
    chat: Chat, engine: Engine
) -> None:
    await chat.send("/start")
    assert (await chat.press("go:status")).state == flow.STATUS_ASK
    result = await chat.send("msc-22-212-34567")
    assert result.state == flow.STATUS_ANSWERED
    assert "Request for Evidence Was Sent" in chat.text
    assert "October 28, 2026" in chat.text and "I-485" in chat.text
    assert "deadline" in chat.text  # the next step
    assert "fiscal year 2022, on working day 212" in chat.text
    assert (await _slots(engine, chat))["receipt"] == "MSC2221234567"


async def test_ioe_receipt_is_found_and_not_decoded(chat: Chat) -> None:
    await chat.send("/start")
    await chat.send("ioe 0912345678")
    assert "Card Was Mailed To Me" in chat.text
    assert "fiscal year" not in chat.text
    assert "e-Request" in chat.text


async def test_unknown_title_gets_a_generic_answer(chat: Chat) -> None:
    await chat.send("/start")
    await chat.send("EAC2398765432")
    assert "Case Is On Hold For An Unusual Reason" in chat.text
    assert "latest notice" in chat.text


async def test_check_another_case_asks_for_a_receipt_again(chat: Chat) -> None:
    await chat.send("/start")
    await chat.send("EAC2190000001")
    result = await chat.press_label("Check another")
    assert result.state == flow.STATUS_ASK


@pytest.mark.parametrize("state", sorted(flow.LOOKUP_FROM))
async def test_receipt_typed_in_any_automated_step_is_looked_up(chat: Chat, state: str) -> None:
    await WALK_TO[state](chat)
    assert chat.last is not None and chat.last.state == state
    result = await chat.send("WAC 23 150 12345")
    assert result.state == flow.STATUS_ANSWERED
    assert "Rejected Because It Was Improperly Filed" in chat.text


@pytest.mark.parametrize(
    "typed, words",
    [
        ("EAC219000000", "has 12"),
        ("EAC21900000001", "has 14"),
        ("XYZ2190000001", "EAC, WAC, LIN, SRC, MSC, NBC, YSC, IOE"),
        ("EAC21900OO001", "found O"),
    ],
)
async def test_malformed_receipt_gets_a_specific_reply_and_changes_nothing(
    chat: Chat, typed: str, words: str
) -> None:
    await chat.send("/start")
    await chat.press("go:status")
    result = await chat.send(typed)
    assert result.state == flow.STATUS_ASK
    assert words in chat.text


async def test_receipt_not_on_file_says_what_to_check(chat: Chat) -> None:
    await chat.send("/start")
    await chat.press("go:status")
    result = await chat.send("EAC9999999999")
    assert result.state == flow.STATUS_ASK
    assert "couldn't find" in chat.text and "I-797C" in chat.text
    assert "auto:didnt_help" in chat.buttons


async def test_status_command_with_and_without_receipt(chat: Chat) -> None:
    await chat.send("/start")
    assert (await chat.send("/status")).state == flow.STATUS_ASK
    result = await chat.send("/status SRC2412300077")
    assert result.state == flow.STATUS_ANSWERED
    assert "Actively Reviewed" in chat.text


async def test_status_command_outside_the_automated_tier_answers_in_place(chat: Chat) -> None:
    await chat.send("/start")
    await chat.send("/agent")
    result = await chat.send("/status NBC2305511111")
    assert result.state == "tier1.intake"
    assert "Interview Was Scheduled" in chat.text


async def test_that_didnt_help_goes_to_tier1_with_the_reason(chat: Chat, engine: Engine) -> None:
    await chat.send("/start")
    await chat.send("EAC2190000001")
    result = await chat.press("auto:didnt_help")
    assert result.state == "tier1.intake" and result.tier == "tier1"
    slots = await _slots(engine, chat)
    assert slots["escalation_reason"] == "automated.didnt_help"
    assert slots["receipt"] == "EAC2190000001"


@pytest.mark.parametrize("typed", ["talk to a person", "That didn't help"])
async def test_asking_for_a_person_in_words_goes_to_tier1(
    chat: Chat, engine: Engine, typed: str
) -> None:
    await chat.send("/start")
    await chat.press("go:status")
    result = await chat.send(typed)
    assert result.state == "tier1.intake"
    assert (await _slots(engine, chat))["escalation_reason"] == "automated.asked_for_person"


async def _source_down(receipt: str) -> None:
    raise CaseLookupFailed("connection refused")


async def test_case_source_down_gets_a_clear_reply(
    chat: Chat, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine.services.ports.cases, "lookup", _source_down)
    await chat.send("/start")
    result = await chat.send("EAC2190000001")
    assert result.state == "automated.menu"
    assert "can't reach the case records" in chat.text


async def test_self_service_answers_give_the_phone_numbers(chat: Chat) -> None:
    await chat.send("/start")
    assert (await chat.press("go:info")).state == flow.INFO
    await chat.press("info:phones")
    assert "800-375-5283" in chat.text and "800-767-1833" in chat.text
    assert "212-620-3418" in chat.text
    await chat.press("info:hours")
    assert "8 a.m. to 8 p.m." in chat.text


async def test_demo_cases_load_only_into_an_empty_database(engine: Engine) -> None:
    db = engine.services.ports.db
    count = (await db.fetchone("SELECT COUNT(*) AS n FROM cases"))["n"]  # type: ignore[index]
    assert count >= 14
    await db.commit([Write("DELETE FROM cases WHERE receipt_number <> 'EAC2190000001'")])
    await create_engine(engine.services.settings, db, engine.services.clock)
    again = (await db.fetchone("SELECT COUNT(*) AS n FROM cases"))["n"]  # type: ignore[index]
    assert again == 1  # not empty, so the demo cases were not loaded again
