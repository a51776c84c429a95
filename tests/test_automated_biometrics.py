"""Biometrics rescheduling through the engine: each rule, the good cause, a day then a
time (and back), other centers, the booking, and capacity under concurrent bookings."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.engine import Engine
from bot.storage.database import Write
from bot.storage.timefmt import to_db
from flows import automated as flow
from tests.automated_paths import ELIGIBLE, to_biometrics_slots, to_biometrics_times
from tests.conftest import MONDAY_10AM, Chat


async def _case(engine: Engine, receipt: str) -> dict[str, object]:
    row = await engine.services.ports.db.fetchone(
        "SELECT * FROM cases WHERE receipt_number = ?", (receipt,)
    )
    assert row is not None
    return dict(row)


def _slot_buttons(chat: Chat) -> list[str]:
    return [b for b in chat.buttons if b.startswith("bio:slot:")]


def _day_buttons(chat: Chat) -> list[str]:
    return [b for b in chat.buttons if b.startswith("bio:day:")]


async def test_eligible_appointment_is_rebooked_with_place_and_what_to_bring(
    chat: Chat, engine: Engine
) -> None:
    await chat.send("/start")
    assert (await chat.press("go:biometrics")).state == flow.BIO_ASK
    result = await chat.send(ELIGIBLE)
    assert result.state == flow.BIO_REASON
    assert "March 12, 2030" in chat.text
    assert (await chat.press("bio:cause:travel")).state == flow.BIO_SLOT
    assert _day_buttons(chat)[0] == "bio:day:20261124"  # 24 hours after Monday 10:00
    assert (await chat.press("bio:day:20261124")).state == flow.BIO_TIME
    first = _slot_buttons(chat)[0]
    assert first == "bio:slot:nyc:202611241000"  # Tuesday, 24 hours after Monday 10:00
    result = await chat.press(first)
    assert result.state == flow.BIO_BOOKED
    assert "November 24, 2026, 10:00 a.m." in chat.text
    assert "New York ASC" in chat.text and "I-797C" in chat.text
    case = await _case(engine, ELIGIBLE)
    assert case["biometrics_reschedules"] == 1 and case["biometrics_site"] == "nyc"


async def test_a_day_then_a_time_back_and_another_center(chat: Chat) -> None:
    await to_biometrics_slots(chat)
    days = _day_buttons(chat)
    # Every day with room within the 60-day search, weekends and holidays left out; the
    # last one is as near as the first (no paging through "Later times").
    assert days[0] == "bio:day:20261124" and "bio:day:20261126" not in days  # Thanksgiving
    assert days[-1] == "bio:day:20270122" and len(days) == 40
    labels = [b.label for r in chat.last.replies for b in r.buttons]  # type: ignore[union-attr]
    assert "Tue Nov 24, from 10:00 a.m." in labels
    assert (await chat.press(days[-1])).state == flow.BIO_TIME
    assert "Friday, January 22" in chat.text
    times = _slot_buttons(chat)
    assert times[0] == "bio:slot:nyc:202701220800" and times[-1] == "bio:slot:nyc:202701221530"
    assert (await chat.press("bio:days")).state == flow.BIO_SLOT
    assert _day_buttons(chat) == days
    assert (await chat.press("bio:sites")).state == flow.BIO_SITE
    result = await chat.press("bio:site:newark")
    assert result.state == flow.BIO_SLOT
    assert "Newark ASC" in chat.text
    await chat.press(_day_buttons(chat)[0])
    assert all(b.startswith("bio:slot:newark:") for b in _slot_buttons(chat))


async def test_no_good_cause_keeps_the_appointment(chat: Chat) -> None:
    await chat.send("/start")
    await chat.press("go:biometrics")
    await chat.send(ELIGIBLE)
    result = await chat.press("bio:cause:none")
    assert result.state == flow.BIO_REASON
    assert "abandoned" in chat.text
    assert "bio:cause:illness" in chat.buttons


@pytest.mark.parametrize(
    "receipt, rule, words",
    [
        ("WAC2312012002", "biometrics.rescheduled_twice", "rescheduled 2 times"),
        ("SRC2312012003", "biometrics.less_than_12_hours", "less than 12 hours"),
        ("NBC2312012004", "biometrics.date_passed", "already passed"),
        ("EAC2312012005", "biometrics.excluded_form", "I-600A"),
    ],
)
async def test_appointments_outside_the_online_rules_go_to_tier1(
    chat: Chat, engine: Engine, receipt: str, rule: str, words: str
) -> None:
    await chat.send("/start")
    await chat.press("go:biometrics")
    result = await chat.send(receipt)
    assert result.state == "tier1.intake"
    assert words in chat.text
    row = await engine.services.ports.db.fetchone(
        "SELECT slots FROM conversations WHERE user_id = ?", (chat.key.user_id,)
    )
    assert row is not None and json.loads(row["slots"])["escalation_reason"] == rule
    trace = await engine.services.ports.db.fetchone(
        "SELECT rule FROM transitions WHERE dest = 'tier1.intake'"
    )
    assert trace is not None and trace["rule"].startswith(rule)


async def test_case_without_biometrics_appointment_says_so(chat: Chat) -> None:
    await chat.send("/start")
    await chat.press("go:biometrics")
    result = await chat.send("EAC2190000001")
    assert result.state == flow.BIO_ASK
    assert "don't see a biometrics appointment" in chat.text


async def test_malformed_receipt_in_biometrics_changes_nothing(chat: Chat) -> None:
    await chat.send("/start")
    await chat.press("go:biometrics")
    result = await chat.send("LIN22100543")
    assert result.state == flow.BIO_ASK and "13 characters" in chat.text


async def test_concurrent_bookings_never_exceed_capacity_of_three(engine: Engine) -> None:
    receipts = [f"EAC25{n:03d}00001"[:13] for n in range(100, 110)]
    now = to_db(engine.now())
    await engine.services.ports.db.commit(
        [
            Write(
                "INSERT INTO cases (receipt_number, form_type, status_title, status_date,"
                " biometrics_at, biometrics_site, biometrics_reschedules, updated_at)"
                " VALUES (?, 'I-485', 'Biometrics Appointment Was Scheduled', '2026-11-01',"
                " '2030-01-07T14:00:00+00:00', 'nyc', 0, ?)",
                (r, now),
            )
            for r in receipts
        ]
    )
    chats = [Chat(engine, user=f"applicant{i}") for i in range(10)]
    for c, receipt in zip(chats, receipts, strict=True):
        await to_biometrics_times(c, receipt)
    target = _slot_buttons(chats[0])[0]
    assert all(_slot_buttons(c)[0] == target for c in chats)

    results = await asyncio.gather(*(c.press(target) for c in chats))

    booked = [r for r in results if r.state == flow.BIO_BOOKED]
    assert len(booked) == 3
    refused = [c for c, r in zip(chats, results, strict=True) if r.state == flow.BIO_TIME]
    assert len(refused) == 7
    for c in refused:
        assert "just taken" in c.text
        assert _slot_buttons(c) and target not in _slot_buttons(c)
    row = await engine.services.ports.db.fetchone(
        "SELECT COUNT(*) AS n FROM biometrics_bookings WHERE slot_at = ?",
        (to_db(MONDAY_10AM.replace(day=24).replace(tzinfo=engine.services.settings.tz)),),
    )
    assert row is not None and row["n"] == 3
