"""The field-office directory: every USCIS field office in `config/field_offices.toml`, each
ZIP code served by the nearest office (ZIP code coordinates from the `zipcodes` package),
appointments in the office's own time zone, and no default office for a ZIP code that
cannot be placed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import zipcodes

from bot.config import load_settings
from bot.messages import Catalogue
from bot.policy import load_policy
from bot.text import render
from flows.field_appointment import FieldOffice, appointment_slot, office_slots, office_time
from flows.steps import Say
from flows.zip_codes import ZipRule, check_zip, locate
from tests.conftest import ROOT, jsonl, run_cli
from tests.pg_server import database_location

ET = ZoneInfo("America/New_York")
SETTINGS = load_settings()
MESSAGES = Catalogue.load(SETTINGS.config_dir / "messages")
POLICY = load_policy(SETTINGS, MESSAGES)
OFFICES = POLICY.offices


# ---- the directory itself -------------------------------------------------------------------


def test_the_directory_lists_the_uscis_field_offices() -> None:
    assert len(OFFICES.offices) >= 85  # USCIS runs about 88 domestic field offices
    states = {o.state for o in OFFICES.offices}
    # Every part of the country an applicant can live in has an office not far away.
    assert {"AK", "HI", "PR", "GU", "VI", "CA", "TX", "NY", "FL", "IL"} <= states


@pytest.mark.parametrize("office", OFFICES.offices, ids=lambda o: o.id)
def test_each_office_agrees_with_the_zip_code_data(office: FieldOffice) -> None:
    [row] = zipcodes.matching(office.zip)
    assert row["state"] == office.state
    cities = {c.lower().replace(".", "") for c in [row["city"], *row["acceptable_cities"]]}
    assert office.city.lower().replace(".", "") in cities
    assert office.timezone == row["timezone"]  # the shipped zones were taken from the data
    assert f"time_zone.{office.zone_name}" in MESSAGES  # "... 10:00 a.m. Alaska time"
    assert office.address.endswith(f"{office.city}, {office.state} {office.zip}")


def test_an_office_without_a_time_zone_takes_its_zip_codes() -> None:
    office = FieldOffice(
        id="x",
        name="X Field Office",
        street="1 Main Street",
        city="Anchorage",
        state="AK",
        zip="99501",
        opens="08:00",  # type: ignore[arg-type]
        closes="15:30",  # type: ignore[arg-type]
    )
    assert office.zone_name == "America/Anchorage"


# ---- which office serves a ZIP code --------------------------------------------------------


@pytest.mark.parametrize(
    "zip_code, office_id",
    [
        ("13202", "syracuse"),  # Syracuse, NY: once sent to Fairfax, VA
        ("13210", "syracuse"),
        ("94103", "san_francisco"),
        ("60605", "chicago"),
        ("60201", "chicago"),  # Evanston
        ("99501", "anchorage"),
        ("99701", "anchorage"),  # Fairbanks
        ("96813", "honolulu"),
        ("00901", "san_juan"),
        ("10001", "new_york"),
        ("77002", "houston"),
        ("22030", "washington_dc"),
        ("04101", "portland_me"),
        ("97201", "portland_or"),
    ],
)
def test_a_zip_code_is_served_by_its_nearest_office(zip_code: str, office_id: str) -> None:
    office = OFFICES.for_zip(zip_code)
    assert office is not None and office.id == office_id


@pytest.mark.parametrize(
    "typed, rule",
    [
        ("00000", ZipRule.UNKNOWN),
        ("99999", ZipRule.UNKNOWN),
        ("1320", ZipRule.BAD_FORMAT),
        ("132021", ZipRule.BAD_FORMAT),
        ("SW1A 1AA", ZipRule.BAD_FORMAT),  # a British postcode
        ("K1A 0B1", ZipRule.BAD_FORMAT),  # a Canadian one
        ("", ZipRule.BAD_FORMAT),
        ("09001", ZipRule.OUTSIDE_US),  # APO Europe
        ("96960", ZipRule.OUTSIDE_US),  # Majuro, Marshall Islands
        ("13202", ZipRule.OK),
        (" 13202-1234 ", ZipRule.OK),
    ],
)
def test_a_typed_zip_code_is_read_or_refused_with_its_reason(typed: str, rule: ZipRule) -> None:
    check = check_zip(typed)
    assert check.rule is rule
    served = OFFICES.for_zip(check.zip) if check.zip else None
    assert (served is not None) == (rule is ZipRule.OK)  # never a default office


def test_offices_and_zip_codes_are_placed_by_the_package_data() -> None:
    syracuse = locate("13202")
    assert syracuse is not None and (syracuse.city, syracuse.state) == ("Syracuse", "NY")
    assert syracuse.timezone == "America/New_York"
    assert locate("1320") is None and locate("00000") is None


# ---- appointments in the office's own time -------------------------------------------------


def _anchorage() -> FieldOffice:
    office = OFFICES.for_zip("99501")
    assert office is not None
    return office


def test_an_alaska_appointment_is_booked_in_alaska_time() -> None:
    office = _anchorage()
    # Wednesday 25 November 2026, 11:00 Eastern; Thanksgiving on the 26th.
    call = datetime(2026, 11, 25, 11, 0, tzinfo=ET)
    slot = appointment_slot(call, office, 5, {})
    assert slot is not None
    assert slot.tzinfo == ZoneInfo("America/Anchorage")
    assert (slot.date(), slot.hour, slot.minute) == (date(2026, 12, 3), 8, 0)  # opens 08:00 AKST
    assert slot.astimezone(ET).hour == 12  # noon in the service's own clock
    said = office_time(slot, office, ET)
    assert isinstance(said, Say)
    assert render(MESSAGES, said) == "Thursday, December 3, 2026, 8:00 a.m. Alaska time"


def test_a_full_alaska_day_moves_to_the_next_alaska_business_day() -> None:
    office = _anchorage()
    call = datetime(2026, 11, 25, 11, 0, tzinfo=ET)
    # Booked counts come back from storage in the service's time zone: still the same slots.
    full = {s.astimezone(ET): office.capacity for s in office_slots(date(2026, 12, 3), office)}
    slot = appointment_slot(call, office, 5, full)
    assert slot is not None and (slot.date(), slot.hour) == (date(2026, 12, 4), 8)


def test_an_office_on_the_services_clock_names_no_time_zone() -> None:
    office = OFFICES.for_zip("13202")
    assert office is not None
    slot = appointment_slot(datetime(2026, 11, 25, 11, 0, tzinfo=ET), office, 5, {})
    assert slot is not None
    assert office_time(slot, office, ET) == slot  # written like every other Eastern time
    chicago = OFFICES.for_zip("60605")
    assert chicago is not None
    said = office_time(slot, chicago, ET)
    assert isinstance(said, Say) and render(MESSAGES, said).endswith("7:00 a.m. Central time")


# ---- cost: nothing is looked up until a ZIP code is -----------------------------------------


def test_no_zip_code_is_looked_up_at_start_or_for_a_turn_without_one(tmp_path: Path) -> None:
    """The package unpacks its data on its first query (about a second): loading the
    configuration, starting the engine and a /start turn must not pay for it."""
    script = textwrap.dedent(
        f"""
        import asyncio, json, zipcodes
        calls = []
        real = zipcodes.matching
        zipcodes.matching = lambda *a, **k: calls.append(a) or real(*a, **k)
        from bot.assembly import create_engine
        from bot.clock import FixedClock
        from bot.config import load_settings
        from bot.engine import ConversationKey, TurnInput
        from bot.storage.database import Database
        from datetime import datetime

        async def main():
            settings = load_settings(db_path={str(database_location(tmp_path, "lazy.db"))!r})
            db = await Database.open(settings.db_path)
            clock = FixedClock(datetime(2026, 11, 23, 10), settings.tz)
            engine = await create_engine(settings, db, clock)
            key = ConversationKey("console", "lazy")
            await engine.handle(TurnInput(key, clock.now(), text="/start"))
            before = len(calls)
            await engine.handle(TurnInput(key, clock.now(), button="go:appointment"))
            await db.close()
            print(json.dumps([before, len(calls)]))

        asyncio.run(main())
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, cwd=ROOT, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout) == [0, 0]


# ---- end to end: the console, the staff command line, the applicant told -------------------

NOW = "2026-11-23T10:00"  # Monday; the callbacks below are urgent (an Immigration Judge grant)


def _to_the_zip_question(user: str) -> list[str | dict[str, str]]:
    return [
        "/start",
        {"button": "nav:agent"},
        {"button": "role:applicant"},
        {"button": "issue:inperson_need"},
        {"button": "need:immigration_judge_grant"},
        {"button": "evidence:yes"},
        {"button": "day:20261123"},
        {"button": "slot:20261123T1100"},
        "907-555-0143" if user == "ak" else "315-555-0143",
    ]


def _reference(reply: dict[str, object]) -> str:
    text = str(reply["text"])
    return next(w for w in text.replace(".", " ").split() if w.startswith("CB-"))


def test_syracuse_and_anchorage_end_to_end_with_a_bad_zip_asked_again(tmp_path: Path) -> None:
    db = str(database_location(tmp_path, "offices.db"))
    syr = jsonl(
        "--db",
        db,
        "--now",
        NOW,
        "--user",
        "syr",
        lines=[
            *_to_the_zip_question("syr"),
            "00000",  # unknown: asked again, nothing changed
            "K1A 0B1",  # not a US ZIP code
            "13202",
            {"button": "confirm:yes"},
        ],
    )
    unknown, canadian, given, booked = syr[-4:]
    assert unknown["state"] == canadian["state"] == "tier2.zip"
    assert "I don't know the ZIP code 00000" in unknown["replies"][0]["text"]
    assert "5-digit ZIP code" in canadian["replies"][0]["text"]
    assert given["state"] == "tier2.confirm" and booked["state"] == "tier2.booked"
    ak = jsonl(
        "--db",
        db,
        "--now",
        NOW,
        "--user",
        "ak",
        lines=[*_to_the_zip_question("ak"), "99501", {"button": "confirm:yes"}],
    )
    assert ak[-1]["state"] == "tier2.booked"

    queue = run_cli("staff", "queue", "--json", "--db", db, "--now", "2026-11-23T11:05")
    assert queue.returncode == 0, queue.stderr.decode()
    offices = {i["reference"]: i["summary"] for i in json.loads(queue.stdout)}
    syr_ref, ak_ref = _reference(booked["replies"][0]), _reference(ak[-1]["replies"][0])
    assert "Syracuse Field Office" in offices[syr_ref]
    assert "Anchorage Field Office" in offices[ak_ref]

    for ref in (syr_ref, ak_ref):
        done = run_cli(
            "staff",
            "complete",
            ref,
            "--outcome",
            "appointment",
            "--json",
            "--db",
            db,
            "--now",
            "2026-11-25T11:05",
        )
        assert done.returncode == 0, done.stderr.decode()
    notices = {
        user: jsonl("--db", db, "--now", "2026-11-25T11:30", "--user", user, lines=["/menu"])[0]
        for user in ("syr", "ak")
    }
    syr_notice = notices["syr"]["replies"][0]["text"]
    assert "Syracuse Field Office, 412 South Warren Street, Syracuse, NY 13202" in syr_notice
    assert "Thursday, December 3, 2026, 8:00 a.m.\n" in syr_notice  # Eastern: no zone named
    ak_notice = notices["ak"]["replies"][0]["text"]
    assert "Anchorage Field Office, 620 East 10th Avenue, Suite 102, Anchorage, AK" in ak_notice
    assert "Thursday, December 3, 2026, 8:00 a.m. Alaska time" in ak_notice


async def test_a_zip_on_file_that_no_office_serves_is_asked_for(engine, db) -> None:  # type: ignore[no-untyped-def]
    """A case on file whose ZIP code cannot be placed does not pick an office: the
    applicant is asked for a ZIP code, as when none is on file."""
    from bot.storage.database import Write
    from tests.conftest import Chat
    from tests.test_tier1_triage import RECEIPT, _looked_up_case
    from tests.tier_journeys import PHONE, to_officer, to_times

    await _looked_up_case(db, "apo")
    await db.commit(
        [Write("UPDATE cases SET zip_code = '09001' WHERE receipt_number = ?", (RECEIPT,))]
    )
    chat = Chat(engine, "apo")
    await chat.send("/menu")
    await to_officer(chat)
    await chat.press((await to_times(chat))[0])
    assert (await chat.send(PHONE)).state == "tier2.zip"
    assert (await chat.send("09001")).state == "tier2.zip"
    assert "military post code" in chat.text
    assert (await chat.send("13202")).state == "tier2.confirm"
