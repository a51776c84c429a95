"""Applicant journeys that never dead-end, through the real `tierline console --jsonl`
(a subprocess, a real SQLite file, the clock set with --now): urgent callbacks around the
holidays, a day then a time with Back, live hours said in the right order with the next
opening, dates typed the American way, optional documents, a slot that fills at the check,
and a callback whose time has passed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import jsonl
from tests.pg_server import database_location

URGENT_PAROLE: list[str | dict[str, Any]] = [
    "/agent",
    {"button": "role:applicant"},
    {"button": "issue:inperson_need"},
    {"button": "need:emergency_advance_parole"},
    {"button": "evidence:yes"},
]
REGULAR: list[str | dict[str, Any]] = [
    "/agent",
    {"button": "role:applicant"},
    {"button": "issue:something_else"},
]


def texts(out: dict[str, Any]) -> str:
    return "\n".join(r["text"] for r in out["replies"])


def buttons(out: dict[str, Any]) -> list[tuple[str, str]]:
    return [(b["label"], b["data"]) for r in out["replies"] for b in r["buttons"]]


def data(out: dict[str, Any], prefix: str) -> list[str]:
    return [d for _label, d in buttons(out) if d.startswith(prefix)]


# ---- urgency is a promise ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "now, first_day, first_day_label",
    [
        ("2026-12-24T19:00", "day:20261228", "Mon Dec 28, from 7:00 a.m."),  # Christmas
        ("2026-12-31T18:45", "day:20270104", "Mon Jan 4, from 7:00 a.m."),  # New Year
    ],
)
def test_urgent_parole_at_the_holidays_gets_the_earliest_times_and_walk_in_guidance(
    tmp_path: Path, now: str, first_day: str, first_day_label: str
) -> None:
    db = str(database_location(tmp_path, "t.db"))
    *_, days = jsonl("--db", db, "--now", now, "--user", "urgent", lines=URGENT_PAROLE)
    said = texts(days)
    assert days["state"] == "tier2.slots"
    assert "no free callback time within the next 72 hours" in said
    assert "earliest times there are" in said
    assert said.count("without an appointment, but only at its own discretion") == 1
    assert "ask an operator" not in said and "no free callback time within the period" not in said
    assert buttons(days)[0] == (first_day_label, first_day)
    assert len(data(days, "day:")) > 1  # not a dead end with only Main menu

    # The same moment, a regular inquiry: its first time is not earlier.
    *_, regular = jsonl("--db", db, "--now", now, "--user", "regular", lines=REGULAR)
    assert data(regular, "day:")[0] == first_day

    # A day, its times, Back to the days, and the first time booked with a phone and ZIP.
    out = jsonl(
        "--db",
        db,
        "--now",
        now,
        "--user",
        "urgent",
        lines=[
            {"button": first_day},
            {"button": "slot:days"},
            {"button": first_day},
            {"button": f"slot:{first_day[4:]}T0700"},
            "(312) 555-0199",
            "60605",
            {"button": "confirm:yes"},
        ],
    )
    times, back, again, phone, _zip, confirm, booked = out
    assert times["state"] == "tier2.times" and buttons(times)[0][0] == "7:00 a.m."
    assert ("Back", "slot:days") in buttons(times)
    assert back["state"] == "tier2.slots" and data(back, "day:")[0] == first_day
    assert again["state"] == "tier2.times"
    assert phone["state"] == "tier2.phone" and confirm["state"] == "tier2.confirm"
    assert booked["state"] == "tier2.booked" and "7:00 a.m." in texts(booked)


def test_a_regular_window_is_a_day_then_a_time_not_pages(tmp_path: Path) -> None:
    """The end of a 30-business-day window is two presses away (it took ~170 presses of
    "Later times" four at a time)."""
    db = str(database_location(tmp_path, "t.db"))
    *_, days = jsonl("--db", db, "--now", "2026-11-23T10:00", lines=REGULAR)
    offered = data(days, "day:")
    assert offered[0] == "day:20261123" and offered[-1] == "day:20270107"
    assert "day:20261126" not in offered and "day:20261128" not in offered  # holiday, Saturday
    assert all("Later times" not in label for label, _ in buttons(days))
    [last] = jsonl("--db", db, "--now", "2026-11-23T10:00", lines=[{"button": offered[-1]}])
    assert data(last, "slot:")[-2:] == ["slot:20270107T1800", "slot:days"]
    assert "Pick a time on Thursday, January 7" in texts(last)


# ---- live hours ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now, words",
    [
        (
            "2026-01-19T10:00",  # Martin Luther King Jr. Day
            [
                "Today is a federal holiday (Martin Luther King Jr. Day), so operators are off.",
                "Operators are available again Tuesday, January 20 at 8:00 a.m. Eastern.",
            ],
        ),
        (
            "2026-12-31T21:00",  # New Year's Eve, after hours; Friday is New Year's Day
            [
                "Operators have finished for today",
                "Operators are available again Monday, January 4 at 8:00 a.m. Eastern.",
            ],
        ),
        (
            "2027-01-02T10:00",  # a Saturday
            ["Operators are available again Monday, January 4 at 8:00 a.m. Eastern."],
        ),
    ],
)
def test_operators_off_comes_first_with_the_next_opening(
    tmp_path: Path, now: str, words: list[str]
) -> None:
    [out] = jsonl("--db", str(database_location(tmp_path, "t.db")), "--now", now, lines=["/agent"])
    # One message: its paragraphs, in the order they are said.
    first, *rest = texts(out).split("\n\n")
    for expected in words:
        assert expected in first
    assert "Birthday of Martin Luther King" not in texts(out)
    assert "passing you to a Tier 1 operator" not in texts(out)
    assert rest[-1] == "First, who are you in this case?"


def test_inside_live_hours_the_hand_over_is_said_and_nothing_about_hours(tmp_path: Path) -> None:
    [out] = jsonl(
        "--db",
        str(database_location(tmp_path, "t.db")),
        "--now",
        "2026-11-23T10:00",
        lines=["/agent"],
    )
    assert texts(out).split("\n\n")[0] == "I'm passing you to a Tier 1 operator."
    assert "available again" not in texts(out)


# ---- the in-person request: dates and documents -------------------------------------------

REQUEST = [
    "/start",
    {"button": "go:appointment"},
    {"button": "apr:type:advance_parole"},
    "EAC2190000001",
    "My mother is gravely ill abroad and I must travel next week",
]


def test_only_optional_documents_missing_does_not_block_and_us_dates_are_read(
    tmp_path: Path,
) -> None:
    db = database_location(tmp_path, "t.db")
    out = jsonl(
        "--db",
        str(db),
        "--now",
        "2026-11-23T10:00",
        lines=[
            *REQUEST,
            {"button": "apr:docs:no"},
            {"button": "apr:docs:optional"},
            "(315) 555-0143",
            "13202",
            "11/26/2026",  # Thanksgiving
            "Nov 28 2026",  # a Saturday
            "11/30/26",
        ],
    )
    checklist, which, going_on, _zip, date_asked, holiday, weekend, submitted = out[-8:]
    assert "If you have them (optional):\n• Travel itinerary, if you have one" in texts(checklist)
    assert which["state"] == "automated.appointment.checklist"
    assert "Travel itinerary" in texts(which)
    assert going_on["state"] == "automated.appointment.ask_phone"
    assert "can go ahead without them" in texts(going_on)
    assert date_asked["state"] == "automated.appointment.ask_date"
    assert holiday["state"] == "automated.appointment.ask_date"
    assert "Thursday, November 26 is a federal holiday (Thanksgiving Day)" in texts(holiday)
    assert weekend["state"] == "automated.appointment.ask_date"
    assert "Saturday, November 28 is a weekend day" in texts(weekend)
    assert submitted["state"] == "automated.appointment.submitted"
    assert "You asked for November 30, 2026" in texts(submitted)


def test_a_missing_required_document_still_holds_the_request_back(tmp_path: Path) -> None:
    out = jsonl(
        "--db",
        str(database_location(tmp_path, "t.db")),
        "--now",
        "2026-11-23T10:00",
        lines=[*REQUEST, {"button": "apr:docs:no"}, {"button": "apr:docs:required"}],
    )
    blocked = out[-1]
    assert blocked["state"] == "automated.appointment.checklist"
    assert "may be refused without them" in texts(blocked)
    assert "apr:docs:yes" in data(blocked, "apr:")
    # A type whose every item is required: "Not all of them" holds it back at once.
    adit = jsonl(
        "--db",
        str(database_location(tmp_path, "t.db")),
        "--now",
        "2026-11-23T10:00",
        "--user",
        "adit",
        lines=[*REQUEST[:2], {"button": "apr:type:adit"}, *REQUEST[3:], {"button": "apr:docs:no"}],
    )
    assert "may be refused without them" in texts(adit[-1])


# ---- the slot fills at the check; a callback in the past ---------------------------------------


def _to_check(db: str, user: str) -> list[dict[str, Any]]:
    return jsonl(
        "--db",
        db,
        "--now",
        "2026-11-23T10:00",
        "--user",
        user,
        lines=[
            *REGULAR,
            {"button": "day:20261123"},
            {"button": "slot:20261123T1100"},
            "(202) 555-0143",
            "10278",
        ],
        env={"TIERLINE_TIER2__SLOT_CAPACITY": "1"},
    )


def test_a_slot_that_fills_at_the_check_keeps_the_phone_and_zip(tmp_path: Path) -> None:
    db = str(database_location(tmp_path, "t.db"))
    env = {"TIERLINE_TIER2__SLOT_CAPACITY": "1"}
    assert _to_check(db, "late")[-1]["state"] == "tier2.confirm"
    assert _to_check(db, "first")[-1]["state"] == "tier2.confirm"
    [booked] = jsonl(
        "--db", db, "--now", "2026-11-23T10:00", "--user", "first",
        lines=[{"button": "confirm:yes"}], env=env,
    )  # fmt: skip
    assert booked["state"] == "tier2.booked"
    full, day, check, done = jsonl(
        "--db",
        db,
        "--now",
        "2026-11-23T10:00",
        "--user",
        "late",
        lines=[
            {"button": "confirm:yes"},
            {"button": "day:20261123"},
            {"button": "slot:20261123T1130"},
            {"button": "confirm:yes"},
        ],
        env=env,
    )
    assert full["state"] == "tier2.slots" and "just been taken" in texts(full)
    assert "kept your number" in texts(full)
    assert "slot:20261123T1100" not in data(day, "slot:")
    assert check["state"] == "tier2.confirm"  # no phone or ZIP question again
    assert "(202) 555-0143" in texts(check) and "11:30 a.m." in texts(check)
    assert done["state"] == "tier2.booked"


def test_a_callback_in_the_past_is_shown_as_past_and_not_offered_move(tmp_path: Path) -> None:
    db = str(database_location(tmp_path, "t.db"))
    booked = _to_check(db, "ana") + jsonl(
        "--db", db, "--now", "2026-11-23T10:00", "--user", "ana",
        lines=[{"button": "confirm:yes"}],
    )  # fmt: skip
    assert booked[-1]["state"] == "tier2.booked"
    before = jsonl(
        "--db", db, "--now", "2026-11-23T10:30", "--user", "ana",
        lines=["/menu", {"button": "go:callback"}],
    )[-1]  # fmt: skip
    [move] = data(before, "mine:move:")  # before its time: it can be moved
    pressed, _menu, fresh = jsonl(
        "--db", db, "--now", "2026-11-23T11:45", "--user", "ana",
        lines=[{"button": move}, "/menu", {"button": "go:callback"}],
    )  # fmt: skip
    # The "Move it" shown before the time passed no longer moves it.
    assert pressed["state"] == "tier2.mine" and "can no longer be moved" in texts(pressed)
    assert not data(pressed, "mine:move:")
    # Looked at afresh ("My requests"): shown as past, and no longer offered a move.
    assert fresh["state"] == "tier2.mine" and "Past: Officer callback" in texts(fresh)
    assert "The time has passed" in texts(fresh)
    assert "Monday, November 23, 2026, 11:00 a.m." in texts(fresh)
    assert not data(fresh, "mine:move:")
