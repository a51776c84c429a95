"""Tier 1 triage through the engine: who is asking, live hours, and where issues go."""

from __future__ import annotations

import re
from datetime import datetime

from bot.engine import Engine
from bot.storage.database import Database, Write
from bot.storage.timefmt import to_db
from tests.conftest import Chat

RECEIPT = "EAC2190000001"
STATUS = "Case Was Received And A Receipt Notice Was Sent"


async def _looked_up_case(db: Database, user: str) -> None:
    """What the automated tier leaves behind after a case lookup (the shared contract)."""
    now = to_db(datetime(2026, 11, 23, 9, 0).astimezone())
    await db.commit(
        [
            Write(
                "INSERT OR IGNORE INTO cases (receipt_number, form_type, status_title, status_date,"
                " zip_code, updated_at) VALUES (?, 'I-485', ?, '2026-10-01', '60605', ?)",
                (RECEIPT, STATUS, now),
            ),
            Write(
                "INSERT INTO conversations (channel, user_id, state, slots, offered, version,"
                " updated_at) VALUES ('console', ?, 'automated.menu', ?, '[]', 1, ?)",
                (user, f'{{"receipt": "{RECEIPT}"}}', now),
            ),
        ]
    )


async def test_third_party_gets_general_information_but_no_case_details(
    engine: Engine, db: Database
) -> None:
    await _looked_up_case(db, "friend")
    chat = Chat(engine, "friend")
    await chat.send("/agent")
    result = await chat.press("role:other")
    assert result.state == "tier1.general"
    assert "privacy" in chat.text
    assert RECEIPT not in chat.text and STATUS not in chat.text
    answer = await chat.press("kb:contact_hours")
    assert "800-375-5283" in chat.text
    assert answer.state == "tier1.general"
    assert RECEIPT not in chat.text and STATUS not in chat.text


async def test_the_applicant_is_shown_the_case_on_file(engine: Engine, db: Database) -> None:
    await _looked_up_case(db, "applicant")
    chat = Chat(engine, "applicant")
    await chat.send("/agent")
    result = await chat.press("role:applicant")
    assert result.state == "tier1.issue"
    assert RECEIPT in chat.text and STATUS in chat.text


async def test_representative_without_g28_is_told_why(chat: Chat) -> None:
    await chat.send("/agent")
    result = await chat.press("role:representative_no_g28")
    assert result.state == "tier1.general"
    assert "G-28" in chat.text
    assert [t.rule for t in result.transitions] == ["role.no_g28"]


async def test_outside_live_hours_it_says_so_and_offers_menu_or_callback(
    engine: Engine, clock
) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime(2026, 11, 26, 12, 0))  # Thanksgiving
    chat = Chat(engine)
    await chat.send("/agent")
    assert "federal holiday (Thanksgiving Day)" in chat.text
    assert "nav:menu" in chat.buttons
    await chat.press("role:applicant")
    result = await chat.press("issue:notice_not_received")
    # A service request needs a live operator: after hours it becomes an officer callback.
    assert result.state == "tier2.slots"
    assert result.transitions[0].rule == "triage.after_hours_callback"
    assert "operators are off" in chat.text
    assert all(not b.startswith("slot:20261126") for b in chat.buttons)


async def test_change_of_address_is_settled_from_the_knowledge_base(chat: Chat) -> None:
    await chat.send("/agent")
    await chat.press("role:petitioner")
    result = await chat.press("issue:change_of_address")
    assert result.state == "tier1.resolved"
    assert "change-of-address" in chat.text
    assert result.transitions[0].rule == "triage.knowledge_base.change_of_address"
    # Not settled after all: the applicant can still have an officer call.
    again = await chat.press("t1:officer")
    assert again.state == "tier2.slots"


async def test_missing_notice_opens_a_service_request_with_a_number(
    chat: Chat, db: Database
) -> None:
    await chat.send("/agent")
    await chat.press("role:applicant")
    result = await chat.press("issue:notice_not_received")
    assert result.state == "tier1.resolved"
    number = re.search(r"SR\d{10}", chat.text)
    assert number is not None
    row = await db.fetchone(
        "SELECT issue FROM service_requests WHERE service_item = ?", (number.group(0),)
    )
    assert row is not None and row["issue"] == "notice_not_received"


async def test_case_status_visit_is_answered_by_phone_not_in_person(chat: Chat) -> None:
    await chat.send("/agent")
    await chat.press("role:applicant")
    await chat.press("issue:inperson_need")
    result = await chat.press("need:case_status")
    assert result.state == "tier1.resolved"
    assert "by phone" in chat.text and "never needs a visit" in chat.text
    assert result.transitions[0].rule == "inperson.case_status"


async def test_emergency_with_evidence_is_urgent_with_walk_in_guidance(chat: Chat) -> None:
    await chat.send("/agent")
    await chat.press("role:applicant")
    await chat.press("issue:emergency")
    await chat.press("need:emergency_advance_parole")
    result = await chat.press("evidence:yes")
    assert result.state == "tier2.slots"
    assert "likely to offer you a field-office visit" in chat.text
    assert "without an appointment" in chat.text  # walk-in at the office's discretion
    assert "urgent" in chat.text
    assert result.transitions[0].rule == "inperson.emergency_advance_parole"


async def test_visit_without_evidence_is_likely_handled_by_phone(chat: Chat) -> None:
    await chat.send("/agent")
    await chat.press("role:applicant")
    await chat.press("issue:inperson_need")
    await chat.press("need:proof_of_status")
    result = await chat.press("evidence:no")
    assert result.state == "tier2.slots"
    assert "by phone rather than in person" in chat.text
    assert "regular" in chat.text
    assert result.transitions[0].rule == "inperson.proof_of_status.no_evidence"


async def test_text_that_is_no_answer_changes_nothing_and_a_typed_label_is_pressed(
    chat: Chat,
) -> None:
    await chat.send("/agent")
    result = await chat.send("blue sky")
    assert result.state == "tier1.intake"
    assert "can't take that as an answer" in chat.text
    # The question comes again with its role buttons, still live.
    assert "who are you in this case" in chat.text
    assert "role:applicant" in chat.buttons
    # Typing a button's label (any case) is pressing it.
    assert (await chat.send("i am the applicant")).state == "tier1.issue"
