"""Tier 2 callbacks through the engine: booking within capacity (also under fifty
concurrent bookings), phone numbers, reminders, and seeing, moving and cancelling."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from bot.engine import Engine
from bot.storage.database import Database
from flows import tier1, tier2
from flows.machine import flow_of
from tests.conftest import Chat
from tests.tier_journeys import PHONE, book, engine_with, slot_buttons, to_confirm, to_officer


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
        for chat, _ in told:
            assert "just been taken" in chat.text
            assert slot_buttons(chat) and full_slot not in chat.buttons
        row = await engine.services.ports.db.fetchone("SELECT COUNT(*) AS n FROM callbacks")
        assert row is not None and row["n"] == 3


async def test_a_bad_phone_number_is_refused_with_an_example(chat: Chat) -> None:
    await to_officer(chat)
    await chat.press(slot_buttons(chat)[0])
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
    # A narrow window (three slots a day) so the second business day is on the first page.
    async with engine_with(
        tmp_path,
        at=datetime(2026, 11, 25, 17, 0),
        callback_opens="17:00",
        callback_closes="18:30",
        slots_per_page=8,
    ) as (engine, clock):
        chat = Chat(engine)
        await to_officer(chat)
        monday = "slot:20261130T1700"
        assert monday in slot_buttons(chat)  # Thursday 26 is Thanksgiving
        assert not any(b.startswith("slot:20261126") for b in slot_buttons(chat))
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
    await chat.press(slot_buttons(chat)[0])
    result = await chat.send(PHONE)
    assert result.state == "tier2.confirm"


async def test_later_times_and_picking_another_time(chat: Chat) -> None:
    await to_officer(chat)
    first_page = slot_buttons(chat)
    await chat.press("slot:more")
    second_page = slot_buttons(chat)
    assert second_page and not set(first_page) & set(second_page)
    await to_confirm(chat, slot=0)
    result = await chat.press("confirm:other")
    assert result.state == "tier2.slots"
    assert slot_buttons(chat)[0] == first_page[0]


async def test_see_move_and_cancel_my_callback(chat: Chat, db: Database) -> None:
    reference = await book(chat)
    await chat.send("/menu")
    shown = await chat.press("go:callback")
    assert shown.state == "tier2.mine" and reference in chat.text
    await chat.press(f"mine:move:{reference}")
    new_slot = slot_buttons(chat)[2]
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
    await chat.press("confirm:other")
    await to_confirm(chat)
    await chat.press("confirm:yes")
    await chat.send("/menu")
    await chat.press("go:callback")
    reference = chat.buttons[0].removeprefix("mine:move:")
    await chat.press(f"mine:move:{reference}")
    await chat.press(slot_buttons(chat)[1])  # ask_confirm from slots
    await chat.press("confirm:yes")
    await chat.send("/menu")
    await chat.press("go:callback")
    await chat.press(f"mine:cancel:{reference}")  # menu from mine
    await _looked_up_case(db, "f")
    known = Chat(engine, "f")
    await known.send("/menu")
    await to_officer(known)
    await known.press(slot_buttons(known)[0])
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
