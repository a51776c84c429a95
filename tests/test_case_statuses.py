"""Status next steps as the domain facts give them (../shared/domain.md, "Case-status
titles"), and a biometrics status that shows the appointment the bot knows about."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import FixedClock
from bot.config import load_settings
from bot.engine import Engine
from bot.messages import Catalogue
from bot.policy import load_policy
from bot.storage.database import Write
from tests.automated_paths import ELIGIBLE, to_biometrics_times
from tests.conftest import Chat
from tests.domain_titles import DOMAIN_TITLES

_SETTINGS = load_settings()
STATUSES = load_policy(_SETTINGS, Catalogue.load(_SETTINGS.config_dir / "messages")).statuses

# Every title the domain facts list, with its group there.


@pytest.mark.parametrize(
    "group, title", [(g, t) for g, titles in DOMAIN_TITLES.items() for t in titles]
)
def test_every_domain_title_is_explained_in_its_group(group: str, title: str) -> None:
    explained = STATUSES.explain(title)
    assert explained.group == group and explained.rule == f"status.{group}"


@pytest.mark.parametrize(
    "title",
    [
        "Case Was Approved",  # the approval notice or welcome notice
        "New Card Is Being Produced",
        "Card Was Mailed To Me",
        "Card Was Delivered To Me By The Post Office",
        "Document Was Mailed To Me",
    ],
)
def test_after_approval_or_mailing_the_next_step_is_the_30_day_e_request(title: str) -> None:
    step = STATUSES.explain(title).next_step
    assert "30 days" in step and "e-Request" in step and "uscis.gov" in step


@pytest.mark.parametrize(
    "title, words",
    [
        ("Case Was Received", ["Nothing to do yet", "receipt notice"]),
        ("Fees Were Waived", ["Nothing to do yet", "receipt notice"]),
        ("Case Was Rejected Because It Was Improperly Filed", ["file again"]),
        ("Request for Evidence Was Sent", ["deadline"]),
        ("Case Was Transferred And A New Office Has Jurisdiction", ["same receipt number"]),
        ("Notice Of Intent To Deny Was Sent", ["deadline"]),
    ],
)
def test_next_steps_say_what_the_domain_facts_say(title: str, words: list[str]) -> None:
    step = STATUSES.explain(title).next_step
    assert all(w in step for w in words), step


def test_a_rejection_is_not_a_decision_on_the_merits() -> None:
    meaning = STATUSES.explain("Case Was Rejected Because It Was Improperly Filed").meaning
    assert "not a decision on the merits" in meaning


async def test_a_scheduled_biometrics_status_shows_the_appointment_on_file(chat: Chat) -> None:
    await chat.send("/start")
    await chat.send(ELIGIBLE)  # Biometrics Appointment Was Scheduled; 2030-03-12 09:00, nyc
    assert (
        "Next step: Your appointment is on Tuesday, March 12, 2030, 9:00 a.m. at the New York"
        " ASC, 100 Example Plaza, New York, NY 10007 (demo). Go to the appointment"
    ) in chat.text


async def test_after_rescheduling_the_status_shows_the_new_appointment(chat: Chat) -> None:
    await to_biometrics_times(chat)
    await chat.press("bio:slot:nyc:202611241000")
    await chat.send("/menu")
    await chat.send(ELIGIBLE)
    assert "Your appointment is on Tuesday, November 24, 2026, 10:00 a.m. at the New York" in (
        chat.text
    )
    assert "March 12, 2030" not in chat.text


async def test_a_past_biometrics_appointment_is_said_to_have_passed(chat: Chat) -> None:
    await chat.send("/start")
    await chat.send("NBC2312012004")  # 2025-06-02 09:00 at the Newark ASC
    assert "The appointment on record, on Monday, June 2, 2025, 9:00 a.m. at the Newark" in (
        chat.text
    )
    assert "has passed" in chat.text and "abandoned" in chat.text


async def test_the_same_case_says_its_appointment_has_passed_once_the_clock_passes_it(
    chat: Chat, clock: FixedClock
) -> None:
    """The status answer is kept per case record; whether the appointment has passed is
    the clock's, asked every time."""
    await chat.send("/start")
    await chat.send(ELIGIBLE)  # 2030-03-12 09:00 at the New York ASC
    assert "Your appointment is on Tuesday, March 12, 2030, 9:00 a.m." in chat.text
    clock.set(datetime(2030, 3, 12, 9, 0))
    await chat.send("/menu")
    await chat.send(ELIGIBLE)
    assert "The appointment on record, on Tuesday, March 12, 2030, 9:00 a.m." in chat.text
    assert "has passed" in chat.text


async def test_without_an_appointment_on_file_the_plain_next_step_is_given(
    chat: Chat, engine: Engine
) -> None:
    await engine.services.ports.db.commit(
        [
            Write(
                "UPDATE cases SET biometrics_at = NULL, biometrics_site = NULL"
                " WHERE receipt_number = ?",
                (ELIGIBLE,),
            )
        ]
    )
    await chat.send("/start")
    await chat.send(ELIGIBLE)
    group_step = STATUSES.groups["biometrics"].next_step
    assert f"Next step: {group_step}" in chat.text and "Your appointment is" not in chat.text


async def test_fingerprints_taken_shows_no_appointment(chat: Chat, engine: Engine) -> None:
    await engine.services.ports.db.commit(
        [
            Write(
                "UPDATE cases SET status_title = 'Case Was Updated To Show Fingerprints Were"
                " Taken' WHERE receipt_number = ?",
                (ELIGIBLE,),
            )
        ]
    )
    await chat.send("/start")
    await chat.send(ELIGIBLE)
    assert "Fingerprints Were Taken" in chat.text and "Your appointment is" not in chat.text
