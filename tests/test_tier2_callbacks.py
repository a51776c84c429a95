"""Tier 2 callbacks through the engine: a day with room then a time (and Back), booking
within capacity (also under fifty concurrent bookings), the number and ZIP kept when only
the time changes, phone numbers, reminders, and seeing, moving and cancelling."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from bot.config import load_settings
from bot.engine import Engine
from bot.messages import Catalogue
from bot.policy import load_policy
from bot.storage.database import Database
from bot.text import render
from flows import tier1, tier2
from flows.callback_slots import candidate_slots
from flows.facts import Facts, Loaded
from flows.machine import flow_of
from flows.state import EMPTY, CallbackDraft
from tests.conftest import MONDAY_10AM, Chat
from tests.tier_journeys import (
    PHONE,
    book,
    day_buttons,
    engine_with,
    slot_buttons,
    to_confirm,
    to_officer,
    to_times,
)


async def test_fifty_concurrent_bookings_on_a_slot_of_capacity_3(tmp_path: Path) -> None:
    async with engine_with(tmp_path, slot_capacity=3) as (engine, _clock):
        chats = [Chat(engine, f"u{n}") for n in range(50)]
        picked = set()
        for chat in chats:
            await to_officer(chat)
            picked.add(await to_confirm(chat))
        assert len(picked) == 1  # everyone is about to book the same slot
        results = await asyncio.gather(*(c.press("confirm:yes") for c in chats))
        booked = [r for r in results if r.state == "tier2.booked"]
        told = [(c, r) for c, r in zip(chats, results, strict=True) if r.state == "tier2.slots"]
        assert len(booked) == 3 and len(told) == 47
        full_slot = picked.pop()
        for chat, _ in told[:5]:
            assert "just been taken" in chat.text
            assert day_buttons(chat)
            assert full_slot not in await to_times(chat)
        row = await engine.services.ports.db.fetchone("SELECT COUNT(*) AS n FROM callbacks")
        assert row is not None and row["n"] == 3


async def test_a_bad_phone_number_is_refused_with_an_example(chat: Chat) -> None:
    await to_officer(chat)
    await chat.press((await to_times(chat))[0])
    result = await chat.send("call me at home")
    assert result.state == "tier2.phone"
    assert "(202) 555-0143" in chat.text
    assert (await chat.send("+1 202 555 0143")).state == "tier2.zip"
    refused = await chat.send("1234")
    assert refused.state == "tier2.zip" and "5-digit" in chat.text


async def test_booking_confirms_time_number_and_reference(chat: Chat, db: Database) -> None:
    reference = await book(chat)
    assert "(202) 555-0143" in chat.text and "Monday, November 23, 2026, 11:00 a.m." in chat.text
    # The call is today: there is no business day before it, so no reminder is promised.
    assert "reminder" not in chat.text.lower()
    row = await db.fetchone(
        "SELECT phone, zip_code, status FROM callbacks WHERE reference = ?", (reference,)
    )
    assert row is not None
    assert (row["phone"], row["zip_code"], row["status"]) == ("+12025550143", "10278", "booked")


async def test_reminder_arrives_one_business_day_before_the_call(tmp_path: Path) -> None:
    # A narrow window (three slots a day): at 17:00 Wednesday 25 has only 18:00 left.
    async with engine_with(
        tmp_path,
        at=datetime(2026, 11, 25, 17, 0),
        callback_opens="17:00",
        callback_closes="18:30",
    ) as (engine, clock):
        chat = Chat(engine)
        await to_officer(chat)
        # Thursday 26 is Thanksgiving, then the weekend.
        assert day_buttons(chat)[:3] == ["day:20261125", "day:20261127", "day:20261130"]
        await chat.press("day:20261130")
        monday = "slot:20261130T1700"
        assert slot_buttons(chat) == [monday, "slot:20261130T1730", "slot:20261130T1800"]
        await chat.press(monday)
        await chat.send(PHONE)
        await chat.send("10278")
        await chat.press("confirm:yes")
        assert "send you a reminder the business day before" in chat.text
        clock.set(datetime(2026, 11, 27, 16, 59))
        await chat.send("/menu")
        assert "Reminder" not in chat.text
        clock.set(datetime(2026, 11, 27, 17, 0))  # Friday: one business day before Monday
        await chat.send("/menu")
        assert "Reminder: an officer will call (202) 555-0143 on Monday, November 30" in chat.text
        await chat.send("/menu")
        assert "Reminder" not in chat.text  # delivered once


async def test_zip_of_the_case_on_file_skips_the_zip_question(engine: Engine, db: Database) -> None:
    from tests.test_tier1_triage import _looked_up_case

    await _looked_up_case(db, "known")
    chat = Chat(engine, "known")
    await chat.send("/menu")
    await to_officer(chat)
    await chat.press((await to_times(chat))[0])
    result = await chat.send(PHONE)
    assert result.state == "tier2.confirm"


async def test_a_day_then_a_time_with_back_to_the_days(chat: Chat) -> None:
    await to_officer(chat)
    days = day_buttons(chat)
    # Monday 10:00, regular: today from 11:00 to the 30th business day (Thanksgiving,
    # Christmas and New Year's Day skipped), every business day with room, in order.
    assert days[0] == "day:20261123" and days[-1] == "day:20270107"
    assert len(days) == 31  # today and the 30 business days after it
    assert "Mon Nov 23, from 11:00 a.m." in [b.label for r in chat.last.replies for b in r.buttons]  # type: ignore[union-attr]
    times = await to_times(chat, day=1)
    assert times[0] == "slot:20261124T0700" and times[-1] == "slot:20261124T1800"
    assert len(times) == 23 and "slot:days" in chat.buttons
    back = await chat.press("slot:days")
    assert back.state == "tier2.slots" and day_buttons(chat) == days
    # The end of the window is two presses away, not ~170 "Later times".
    await chat.press(days[-1])
    assert slot_buttons(chat)[-1] == "slot:20270107T1800"


async def test_another_time_at_the_check_keeps_the_number_and_zip(chat: Chat, db: Database) -> None:
    await to_officer(chat)
    await to_confirm(chat, slot=0)
    result = await chat.press("confirm:other")
    assert result.state == "tier2.slots"
    await chat.press(day_buttons(chat)[1])
    again = await chat.press(slot_buttons(chat)[3])
    # Only a new time is asked: straight back to the check with the same number.
    assert again.state == "tier2.confirm" and "(202) 555-0143" in chat.text
    assert "Tuesday, November 24, 2026, 8:30 a.m." in chat.text
    await chat.press("confirm:yes")
    row = await db.fetchone("SELECT phone, zip_code FROM callbacks")
    assert row is not None and (row["phone"], row["zip_code"]) == ("+12025550143", "10278")


async def test_changing_the_number_at_the_check_keeps_the_time_and_zip(chat: Chat) -> None:
    await to_officer(chat)
    slot = await to_confirm(chat)
    changed = await chat.press("confirm:phone")
    assert changed.state == "tier2.phone"
    result = await chat.send("(646) 555-0111")
    assert result.state == "tier2.confirm"  # the ZIP code given before is kept
    assert "(646) 555-0111" in chat.text and "Monday, November 23, 2026, 11:00 a.m." in chat.text
    assert slot == "slot:20261123T1100"


async def test_a_slot_that_fills_at_the_check_keeps_the_number_and_zip(tmp_path: Path) -> None:
    async with engine_with(tmp_path, slot_capacity=1) as (engine, _clock):
        first, second = Chat(engine, "first"), Chat(engine, "second")
        for chat in (first, second):
            await to_officer(chat)
            await to_confirm(chat)
        assert (await first.press("confirm:yes")).state == "tier2.booked"
        told = await second.press("confirm:yes")
        assert told.state == "tier2.slots" and "just been taken" in second.text
        assert "kept your number" in second.text
        await second.press(day_buttons(second)[0])
        assert "slot:20261123T1100" not in second.buttons  # the full one is not offered
        result = await second.press(slot_buttons(second)[0])
        assert result.state == "tier2.confirm"  # no phone or ZIP question again
        assert (await second.press("confirm:yes")).state == "tier2.booked"


async def test_see_move_and_cancel_my_callback(chat: Chat, db: Database) -> None:
    reference = await book(chat)
    await chat.send("/menu")
    shown = await chat.press("go:callback")
    assert shown.state == "tier2.mine" and reference in chat.text
    await chat.press(f"mine:move:{reference}")
    new_slot = (await to_times(chat))[2]
    result = await chat.press(new_slot)
    assert result.state == "tier2.confirm"  # the phone number is already known
    moved = await chat.press("confirm:yes")
    assert moved.state == "tier2.booked" and reference in chat.text
    row = await db.fetchone("SELECT slot_at FROM callbacks WHERE reference = ?", (reference,))
    assert row is not None and row["slot_at"].startswith("2026-11-23T17:00")  # 12:00 ET
    await chat.send("/menu")
    await chat.press("go:callback")
    cancelled = await chat.press(f"mine:cancel:{reference}")
    assert cancelled.state == "automated.menu" and "cancelled" in chat.text
    await chat.press("go:callback")
    assert "You have nothing with us yet" in chat.text  # a cancelled callback is not listed


async def test_every_tier1_and_tier2_transition_is_driven(engine: Engine, db: Database) -> None:
    """Walk every declared Tier 1 / Tier 2 edge through the engine; the transition log must
    show each (trigger, source) pair at least once."""
    from tests.test_tier1_triage import _looked_up_case

    async def journey(user: str, *steps: str) -> Chat:
        chat = Chat(engine, user)
        await chat.send("/agent")
        for step in steps:
            await (chat.press(step[1:]) if step.startswith("!") else chat.send(step))
        return chat

    await journey("a", "!role:other")
    await journey("b", "!role:applicant", "!issue:change_of_address", "!t1:officer")
    await journey("c", "!role:applicant", "!issue:inperson_need", "!need:case_status")
    await journey("d", "!role:applicant", "!issue:biometrics_not_online")
    chat = await journey(
        "e", "!role:applicant", "!issue:inperson_need", "!need:daca", "!evidence:yes"
    )
    await to_confirm(chat)  # pick_slot, ask_zip, ask_confirm from zip
    await chat.press("confirm:phone")  # change_phone
    await chat.send(PHONE)  # ask_confirm from phone, the ZIP kept
    await chat.press("confirm:other")
    await to_times(chat)
    await chat.press(slot_buttons(chat)[0])  # ask_confirm from times: details kept
    await chat.press("confirm:yes")
    await chat.send("/menu")
    await chat.press("go:callback")
    reference = chat.buttons[0].removeprefix("mine:move:")
    await chat.press(f"mine:move:{reference}")
    await chat.press(day_buttons(chat)[1])  # pick_day
    await chat.press("slot:days")  # back_to_days
    await to_times(chat, day=1)
    await chat.press(slot_buttons(chat)[1])  # ask_confirm from times
    await chat.press("confirm:yes")
    await chat.send("/menu")
    await chat.press("go:callback")
    await chat.press(f"mine:cancel:{reference}")  # menu from mine
    await _looked_up_case(db, "f")
    known = Chat(engine, "f")
    await known.send("/menu")
    await to_officer(known)
    await known.press((await to_times(known))[0])
    await known.send(PHONE)  # ask_confirm from phone

    rows = await db.fetchall("SELECT DISTINCT trigger, source FROM transitions")
    seen = {(r["trigger"], r["source"]) for r in rows}
    declared = {
        (t.trigger, s)
        for flow in (flow_of(tier1.TIER), flow_of(tier2.TIER))
        for t in flow.transitions
        for s in t.sources
    }
    assert declared - seen == set()


async def test_a_day_that_filled_up_since_it_was_shown_is_said(tmp_path: Path) -> None:
    # A narrow window and one place a slot: at 17:00 Wednesday has only its 18:00 slot.
    async with engine_with(
        tmp_path,
        at=datetime(2026, 11, 25, 17, 0),
        callback_opens="17:00",
        callback_closes="18:30",
        slot_capacity=1,
    ) as (engine, _clock):
        first, second = Chat(engine, "first"), Chat(engine, "second")
        for chat in (first, second):
            await to_officer(chat)
            assert day_buttons(chat)[0] == "day:20261125"
        await to_confirm(first)
        assert (await first.press("confirm:yes")).state == "tier2.booked"
        late = await second.press("day:20261125")
        assert late.state == "tier2.slots" and "Wednesday, November 25 has just filled up" in (
            second.text
        )
        assert day_buttons(second)[0] == "day:20261127"


def test_with_every_time_taken_the_days_step_offers_to_look_again() -> None:
    settings = load_settings()
    messages = Catalogue.load(settings.config_dir / "messages")
    policy = load_policy(settings, messages)
    now = MONDAY_10AM.replace(tzinfo=settings.tz)
    full = dict.fromkeys(candidate_slots(now, False, policy.callbacks), policy.callbacks.capacity)
    for urgent in (True, False):
        state = EMPTY.but(callback=CallbackDraft(urgent=urgent))
        facts = Facts(now, state, policy, tier2.SLOTS, loaded=Loaded(slot_counts=full))
        assert tier2.SLOTS_STEP.show is not None
        shown = tier2.SLOTS_STEP.show(facts)
        said = " ".join(render(messages, s) for s in shown.says)
        assert "taken right now" in said and "look again" in said
        assert "operator" not in said  # never "ask an operator" past the operator
        assert [c.kind for c in shown.choices] == ["day:again", "nav:menu"]


async def test_walk_in_guidance_is_given_once_when_urgent_times_are_late(tmp_path: Path) -> None:
    # Christmas Eve, 19:00: 72 hours hold no business hours.
    async with engine_with(tmp_path, at=datetime(2026, 12, 24, 19, 0)) as (engine, _clock):
        chat = Chat(engine)
        await to_officer(chat, issue="emergency", need="emergency_advance_parole", evidence="yes")
        assert "earliest times there are" in chat.text
        assert chat.text.count("without an appointment") == 1  # Tier 1 said it already
        assert day_buttons(chat)[0] == "day:20261228"
