"""Staff commands on Telegram: only for the allowlist, served by the real staff desk, with
the outcome pushed to the applicant."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import Settings
from bot.engine import ConversationKey, Engine, Reply
from bot.storage import outbox
from bot.storage.database import Database
from tests.fake_bot_api import FakeBotApi, wait_until
from tests.telegram.conftest import STAFF_ID, TelegramUser, book_callback, running

PROBE = 4999  # a chat that only ever gets probe notices


class FakeDeskError(Exception):
    pass


@dataclass
class Item:
    reference: str
    kind: str = "callback"
    category: str = "ADIT stamp"
    urgent: bool = False
    due_at: datetime | None = None
    status: str = "waiting"
    summary: str = "Needs proof of status"


@dataclass
class Done:
    reference: str
    outcome: str
    summary: str


@dataclass
class FakeDesk:
    """Stands in for bot.staff.desk.StaffDesk, with the same methods."""

    items: list[Item] = field(default_factory=list)
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    async def queue(self, now: datetime) -> list[Item]:
        self.calls.append(("queue",))
        return self.items

    async def take(self, reference: str, staff_id: str, now: datetime) -> Item:
        self.calls.append(("take", reference, staff_id))
        for item in self.items:
            if item.reference == reference:
                return Item(reference, status="taken")
        raise FakeDeskError(f"No callback {reference} in the queue.")

    async def complete(
        self, reference: str, outcome: str, note: str, staff_id: str, now: datetime
    ) -> Done:
        self.calls.append(("complete", reference, outcome, note, staff_id))
        return Done(reference, outcome, "Closed.")


async def test_a_staff_command_from_someone_else_is_refused_and_logged_anonymously(
    fake_api: FakeBotApi,
    tg_engine: Engine,
    tg_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    desk = FakeDesk([Item("CB-1001")])
    intruder = TelegramUser(fake_api, 4242424242)
    caplog.set_level(logging.INFO)
    async with running(tg_engine, tg_settings, desk=desk, desk_error=FakeDeskError):
        for command in ("/queue", "/take CB-1001", "/done CB-1001 resolved"):
            (reply,) = await intruder.send(command)
            assert reply.text == tg_engine.text("telegram.staff.refused")
    assert desk.calls == []
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 3
    assert all(str(intruder.id) not in line for line in caplog.text.splitlines())


async def test_staff_work_a_booked_callback_and_the_applicant_is_told_once(
    fake_api: FakeBotApi,
    tg_engine: Engine,
    tg_settings: Settings,
    db: Database,
    clock: FixedClock,
) -> None:
    """The real staff desk behind /queue, /take and /done; the outcome notice reaches the
    applicant through the outbox pusher, once, and a restart does not send it again."""
    applicant, officer = TelegramUser(fake_api, 4101), TelegramUser(fake_api, STAFF_ID)
    async with running(tg_engine, tg_settings):
        await applicant.send("/start")
        reference = await book_callback(applicant)
        booked = len(fake_api.messages(applicant.id))

        (queue,) = await officer.send("/queue")
        (missing,) = await officer.send("/take CB-NOPE99")
        (taken,) = await officer.send(f"/take {reference.lower()}")
        (usage,) = await officer.send(f"/done {reference} maybe")
        (done,) = await officer.send(f"/done {reference} appointment")
        (notice,) = await applicant.received(booked, 1)  # pushed: the applicant said nothing
        await _a_pusher_round_has_passed(fake_api, db, clock)
        assert len(fake_api.messages(applicant.id)) == booked + 1  # told once

    assert queue.text.startswith("Staff queue (1), the soonest due first:")
    assert (
        f"URGENT · {reference} · proof_of_status (callback) · booked · due Mon Nov 23, 11:00 a.m."
        in queue.text
    )
    assert "***-***-**43" in queue.text and "555-0143" not in queue.text  # masked phone
    assert "New York City Field Office" in queue.text
    assert missing.text == tg_engine.text(
        "tier2.staff.error.unknown_reference", reference="CB-NOPE99"
    )
    assert taken.text.startswith(f"You took {reference} (proof_of_status, taken).")
    assert "Phone: (202) 555-0143" in taken.text  # in full, once taken
    assert usage.text == tg_engine.text("telegram.staff.done_usage")
    assert done.text.startswith(f"Recorded {reference} as appointment.")
    assert "New York City Field Office" in done.text

    assert notice.text.startswith(
        f"The officer booked you an in-person appointment (reference {reference}):\n"
        "New York City Field Office, 26 Federal Plaza"
    )
    when = re.search(r"on (\w+day, \w+ \d+, \d{4}, [\d:]+ [ap]\.m\.)", done.text)
    assert when and f"on {when.group(1)}\n" in notice.text  # the day staff were told
    assert "green card" in notice.text and "I-94" in notice.text  # what to bring
    assert "In every case, bring" in notice.text
    delivered = await db.fetchall(
        "SELECT delivered_at FROM outbox WHERE kind = ?", ("callback.outcome",)
    )
    assert len(delivered) == 1 and delivered[0]["delivered_at"] is not None

    # A restart: the notice already delivered does not go out again.
    async with running(tg_engine, tg_settings):
        await _a_pusher_round_has_passed(fake_api, db, clock)
        (queue_after,) = await officer.send("/queue")
    assert fake_api.texts(applicant.id)[booked:] == [notice.text]
    assert queue_after.text == tg_engine.text("telegram.staff.queue_empty")
    # Staff see their commands in their own chat's command menu.
    scoped = [c for c in fake_api.calls("setMyCommands") if c.params.get("scope")]
    assert scoped and scoped[0].params["scope"] == {"type": "chat", "chat_id": STAFF_ID}
    assert [c["command"] for c in scoped[0].params["commands"]][-6:] == [
        "queue",
        "take",
        "show",
        "done",
        "release",
        "handover",
    ]


async def _a_pusher_round_has_passed(api: FakeBotApi, db: Database, clock: FixedClock) -> None:
    """Wait until the notice pusher has finished a whole round that started after this call:
    a probe notice to another chat goes out, then a second one queued after it. The round
    that delivered the first probe had finished before the one delivering the second began."""
    for _ in range(2):
        before = len(api.texts(PROBE))
        await db.commit(
            [
                outbox.enqueue(
                    ConversationKey("telegram", str(PROBE)),
                    "probe",
                    Reply("probe"),
                    now=clock.now(),
                )
            ]
        )
        await wait_until(lambda: len(api.texts(PROBE)) > before, what="a probe notice")  # noqa: B023


async def test_after_an_unanswered_call_the_applicant_is_told_and_reminded_when_due(
    fake_api: FakeBotApi,
    tg_engine: Engine,
    tg_settings: Settings,
    db: Database,
    clock: FixedClock,
) -> None:
    applicant, officer = TelegramUser(fake_api, 4102), TelegramUser(fake_api, STAFF_ID)
    async with running(tg_engine, tg_settings):
        await applicant.send("/start")
        reference = await book_callback(applicant)
        booked = len(fake_api.messages(applicant.id))
        await officer.send(f"/take {reference}")
        (done,) = await officer.send(f"/done {reference} no-answer")
        (retry,) = await applicant.received(booked, 1)
        # The second call is tomorrow at 11:00; its reminder is due today at 11:00.
        await _a_pusher_round_has_passed(fake_api, db, clock)
        assert len(fake_api.messages(applicant.id)) == booked + 1  # not yet due
        clock.advance(timedelta(hours=1))
        (reminder,) = await applicant.received(booked + 1, 1)
        await _a_pusher_round_has_passed(fake_api, db, clock)
    assert "second attempt" in done.text
    assert retry.text == (
        f"An officer tried to call you about {reference} but couldn't reach "
        "you. They will try once more on Tuesday, November 24, 2026, "
        "11:00 a.m., Eastern time."
    )
    assert reminder.text == (
        "Reminder: an officer will call (202) 555-0143 on Tuesday, "
        f"November 24, 2026, 11:00 a.m. (reference {reference}). "
        "Please keep your phone at hand."
    )
    assert fake_api.texts(applicant.id)[booked:] == [retry.text, reminder.text]  # once each


async def test_show_hand_over_release_and_a_visit_on_a_chosen_day_on_telegram(
    fake_api: FakeBotApi, tg_settings: Settings, db: Database, clock: FixedClock
) -> None:
    """Two officers on the allowlist: the record only for the one holding the item, a
    hand-over to a colleague (not to an outsider), a release, and an emergency visit the
    next morning chosen with /done."""
    colleague_id = STAFF_ID + 1
    settings = tg_settings.model_copy(
        update={
            "telegram": tg_settings.telegram.model_copy(
                update={"staff_user_ids": [STAFF_ID, colleague_id]}
            )
        }
    )
    engine = await create_engine(settings, db, clock, pull_notices=frozenset())
    applicant = TelegramUser(fake_api, 4103)
    kim, lee = TelegramUser(fake_api, STAFF_ID), TelegramUser(fake_api, colleague_id)
    async with running(engine, settings):
        await applicant.send("/start")
        reference = await book_callback(applicant)
        booked = len(fake_api.messages(applicant.id))
        (not_yet,) = await lee.send(f"/show {reference}")
        await kim.send(f"/take {reference.lower()}")
        (theirs,) = await lee.send(f"/show {reference}")
        (outsider,) = await kim.send(f"/handover {reference} 4242")
        (handed,) = await kim.send(f"/handover {reference} {colleague_id}")
        (shown,) = await lee.send(f"/show {reference.lower()}")
        (released,) = await lee.send(f"/release {reference}")
        await kim.send(f"/take {reference}")
        (too_soon,) = await kim.send(f"/done {reference} appointment 2026-11-24 09:00")
        (done,) = await kim.send(f"/done {reference} appointment 2026-12-02 Bring your ticket.")
        (notice,) = await applicant.received(booked, 1)

    assert not_yet.text == f"You do not hold {reference}: take it first."
    assert theirs.text == f"{reference} is already taken by telegram:{STAFF_ID}."
    assert outsider.text == "4242 is not on the staff list."
    assert handed.text == f"{reference} is now with telegram:{colleague_id}."
    assert shown.text.startswith(
        f"{reference} · callback · taken (held by telegram:{colleague_id})"
    )
    assert "Phone: (202) 555-0143" in shown.text
    assert "back in the queue" in released.text
    # Proof of status is urgent but not an emergency: no visit before the usual day.
    assert too_soon.text.startswith("A visit sooner than 5 business days after the call")
    assert "Wednesday, December 2, 2026, 8:00 a.m." in done.text  # the day's first time
    assert "on Wednesday, December 2, 2026, 8:00 a.m.\n" in notice.text
    assert "\nThe officer's note: Bring your ticket.\n" in notice.text
    views = await engine.services.ports.audit.views_of(reference)
    assert [v.staff_id for v in views] == [
        f"telegram:{STAFF_ID}",
        f"telegram:{colleague_id}",
        f"telegram:{STAFF_ID}",
    ]
