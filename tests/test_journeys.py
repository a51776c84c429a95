"""Applicant journeys that never dead-end, through `tierline console --jsonl` (one JSON line
per input) and, where the clock must move, through the engine: commands and receipts
typed mid-flow answer and ask the step's question again with its buttons live; typed
labels and plain words are understood; Back and Main menu everywhere; one message per
answer; "My requests" shows everything."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import FixedClock
from tests.conftest import Chat, jsonl
from tests.pg_server import database_location
from tests.tier_journeys import book

NOW = ("--now", "2026-11-23T10:00")  # Monday, inside live hours
TO_TIMES = ["/start", {"button": "nav:agent"}, {"button": "role:applicant"}]


def _db(tmp_path: Path) -> tuple[str, str]:
    return ("--db", str(database_location(tmp_path, "j.db")))


def _text(out: dict[str, Any]) -> str:
    return "\n\n".join(r["text"] for r in out["replies"])


def _data(out: dict[str, Any]) -> list[str]:
    return [b["data"] for r in out["replies"] for b in r["buttons"]]


def _labels(out: dict[str, Any]) -> list[str]:
    return [b["label"] for r in out["replies"] for b in r["buttons"]]


def test_help_and_typed_button_labels_keep_the_callback_times_live(tmp_path: Path) -> None:
    outs = jsonl(
        *_db(tmp_path),
        *NOW,
        lines=[
            *TO_TIMES,
            {"button": "issue:something_else"},
            {"button": "day:20261123"},
            "/help",
            {"button": "slot:20261123T1100"},  # a time shown before /help
        ],
    )
    days, times, helped, picked = outs[3], outs[4], outs[5], outs[6]
    assert days["state"] == "tier2.slots" and times["state"] == "tier2.times"
    assert helped["state"] == "tier2.times"
    assert "Here is what I can do" in _text(helped)
    assert "Pick a time" in _text(helped)  # the question again
    assert "slot:20261123T1100" in _data(helped)
    assert picked["state"] == "tier2.phone"

    later = jsonl(
        *_db(tmp_path), "--user", "b", *NOW, lines=[*TO_TIMES, "Something else", "Mon Nov 23"]
    )
    # "Something else" typed presses that issue; a day's label typed picks that day.
    assert later[3]["state"] == "tier2.slots"
    assert later[4]["state"] == "tier2.times"
    assert "slot:20261123T1100" in _data(later[4])


def test_status_at_tier1_intake_answers_and_keeps_the_role_buttons(tmp_path: Path) -> None:
    outs = jsonl(
        *_db(tmp_path),
        *NOW,
        lines=["/agent", "/status EAC2190000001", {"button": "role:applicant"}],
    )
    status = outs[1]
    assert status["state"] == "tier1.intake"
    assert "Case EAC2190000001 (Form I-485)" in _text(status)
    assert _text(status).endswith("First, who are you in this case?")
    assert "role:applicant" in _data(status)
    assert outs[2]["state"] == "tier1.issue"  # the role buttons still work


def test_a_receipt_typed_in_tier1_general_information_is_answered(tmp_path: Path) -> None:
    outs = jsonl(
        *_db(tmp_path),
        *NOW,
        lines=[
            "/agent",
            {"button": "role:other"},
            {"button": "kb:case_status_online"},
            "EAC2190000001",
        ],
    )
    said, typed = outs[2], outs[3]
    assert "type your receipt number here at any time" in _text(said)
    assert typed["state"] == "tier1.general"
    assert "Case Was Received And A Receipt Notice Was Sent" in _text(typed)
    assert "kb:case_status_online" in _data(typed)  # the topics are still on offer


def test_text_not_understood_gets_the_steps_own_choices_again(tmp_path: Path) -> None:
    outs = jsonl(*_db(tmp_path), *NOW, lines=["/agent", "blue sky", "purple"])
    for out in outs[1:]:
        assert out["state"] == "tier1.intake"
        assert "can't take that as an answer" in _text(out)
        assert _labels(out) == _labels(outs[0])  # the same list, the same order


def test_plain_words_receipts_in_sentences_and_spanish_are_understood(tmp_path: Path) -> None:
    lines: list[str | dict[str, Any]] = [
        "/start",
        "check my case EAC2190000001 please",
        "/menu",
        '"EAC2190000001"',
        "help",
        "menu",
        "status",
        "menu",
        "hlep",
        "staus",
        "hablo español",
        "/menu",
        "agent",
    ]
    outs = jsonl(*_db(tmp_path), *NOW, lines=lines)
    said = dict(zip(range(len(lines)), outs, strict=True))
    for i in (1, 3):
        assert said[i]["state"] == "automated.status.answered", said[i]
        assert "Case EAC2190000001 (Form I-485)" in _text(said[i])
    assert "Here is what I can do" in _text(said[4])
    assert said[5]["state"] == "automated.menu"
    assert said[6]["state"] == "automated.status.ask_receipt"  # the menu's own item
    assert "Here is what I can do" in _text(said[8])  # hlep
    assert said[9]["state"] == "automated.status.ask_receipt"  # staus
    spanish = _text(said[10])
    # "hablo español" switches to Spanish and asks the step's question again in Spanish
    assert "a partir de ahora le atiendo en español" in spanish, spanish
    assert "Escriba el número de recibo" in spanish and "Please type" not in spanish
    assert said[10]["state"] == "automated.status.ask_receipt"
    assert spanish.endswith("Puede usar guiones y espacios.")  # and the question again
    assert said[12]["state"] == "tier1.intake"
    assert all("didn't understand" not in _text(o) for o in outs)


def test_an_a_number_inside_a_sentence_is_read_by_the_request_form(tmp_path: Path) -> None:
    outs = jsonl(
        *_db(tmp_path),
        *NOW,
        lines=[
            "/start",
            {"button": "go:appointment"},
            {"button": "apr:type:adit"},
            "my A-number is A-123-456-789",
        ],
    )
    assert outs[3]["state"] == "automated.appointment.ask_reason"


def test_one_answer_is_one_message_with_the_keyboard_on_it(tmp_path: Path) -> None:
    outs = jsonl(
        *_db(tmp_path),
        *NOW,
        lines=[
            "/start",
            {"button": "nav:agent"},
            {"button": "role:applicant"},
            {"button": "issue:inperson_need"},
            {"button": "need:proof_of_status"},
            {"button": "evidence:yes"},
        ],
    )
    for out in outs:
        assert len(out["replies"]) == 1, out
        assert out["replies"][0]["buttons"], out
    start, escalated = outs[0], outs[-1]
    assert start["replies"][0]["text"].startswith("Hello, I'm Tierline")
    assert "go:status" in _data(start)
    paragraphs = escalated["replies"][0]["text"].split("\n\n")
    assert len(paragraphs) == 5 and paragraphs[-1].startswith("Pick a day")
    assert escalated["state"] == "tier2.slots"


def test_back_returns_with_the_answers_kept_and_main_menu_is_everywhere(
    tmp_path: Path,
) -> None:
    outs = jsonl(
        *_db(tmp_path),
        *NOW,
        lines=[
            "/start",
            {"button": "go:appointment"},
            {"button": "apr:type:adit"},
            "A12345678",
            "I need proof of status for a new job that starts soon",
            "back",  # typed: the same as pressing Back
            {"button": "nav:back"},
            "A87654321",
            "I need proof of status for a new job that starts soon",
            {"button": "apr:docs:yes"},
            "(315) 555-0143",
            "13202",
            {"button": "apr:date:skip"},
        ],
    )
    for out in outs[1:]:
        assert "nav:menu" in _data(out), out
    assert outs[4]["state"] == "automated.appointment.checklist"
    assert "nav:back" in _data(outs[4])
    assert outs[5]["state"] == "automated.appointment.ask_reason"
    assert outs[6]["state"] == "automated.appointment.ask_identifier"
    assert "ADIT" in _text(outs[6])  # the type chosen is kept
    assert outs[12]["state"] == "automated.appointment.submitted"
    assert "nav:back" not in _data(outs[12])  # never back into a finished request


async def test_my_requests_shows_every_callback_and_a_past_one_as_past(
    chat: Chat, clock: FixedClock
) -> None:
    first = await book(chat)
    await chat.send("/menu")
    second = await book(chat)
    await chat.send("/menu")
    mine = await chat.press("go:callback")
    assert mine.state == "tier2.mine"
    assert first in chat.text and second in chat.text
    assert {f"mine:move:{first}", f"mine:move:{second}"} <= set(chat.buttons)

    # /mine in the middle of something else: said in place, the question asked again.
    await chat.send("/menu")
    await chat.send("/agent")
    listed = await chat.send("/mine")
    assert listed.state == "tier1.intake"
    assert first in chat.text and "First, who are you in this case?" in chat.text

    clock.set(datetime(2026, 11, 24, 9, 0))  # both calls were on Monday: past now
    await chat.send("/menu")
    await chat.press("go:callback")
    assert chat.text.count("Past: Officer callback") == 2
    assert not any(b.startswith("mine:") for b in chat.buttons)  # nothing to move or cancel


async def test_my_requests_lists_every_kind_with_its_status(chat: Chat, engine: Any) -> None:
    from bot.staff.desk import StaffDesk
    from tests.automated_paths import to_biometrics_times

    # A biometrics booking, an in-person request, a service request and a callback that
    # an officer turned into a field-office appointment.
    await to_biometrics_times(chat)
    await chat.press(next(b for b in chat.buttons if b.startswith("bio:slot:")))
    await chat.send("/menu")
    await chat.press("go:appointment")
    await chat.press("apr:type:adit")
    await chat.send("A12345678")
    await chat.send("I need proof of status for a new job that starts soon")
    await chat.press("apr:docs:yes")
    await chat.send("(315) 555-0143")
    await chat.send("13202")
    await chat.press("apr:date:skip")
    request = next(w for w in chat.text.replace(".", " ").split() if w.startswith("APR-"))
    await chat.send("/menu")
    await chat.press("nav:agent")
    await chat.press("role:applicant")
    await chat.press("issue:notice_not_received")
    assert chat.last is not None and chat.last.state == "tier1.resolved", chat.text
    await chat.send("/menu")
    callback = await book(chat, issue="inperson_need", need="proof_of_status", evidence="yes")
    desk = StaffDesk.of(engine.services)
    await desk.complete(callback, "appointment", None, "kim", engine.now())

    await chat.send("/menu")
    await chat.send("/mine")  # from the main menu: the "My requests" step
    text = chat.text
    assert chat.last is not None and chat.last.state == "tier2.mine"
    assert "Biometrics appointment for case LIN2210054321 at the New York ASC" in text
    assert f"In-person appointment request {request} (ADIT stamp" in text
    assert "Waiting for review by staff." in text
    assert "Service request " in text and "A notice or card never arrived" in text
    assert "Field-office appointment " in text
    assert f"Past: Officer callback {callback}" in text  # completed: behind the applicant
    assert "The officer booked you a field-office appointment." in text
    assert not any(b.startswith("mine:") for b in chat.buttons)
