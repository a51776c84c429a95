"""Pure rules of the automated tier: receipts, A-numbers, status meanings, biometrics
eligibility and slots, the appointment request checks, asking for a person."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import load_settings
from bot.messages import Catalogue
from bot.policy import load_policy
from flows.appointment_request import check_preferred_date, check_reason, read_date
from flows.biometrics import BiometricsAppointment, decide_reschedule, free_days
from flows.business_days import holiday_name
from flows.case_records import BadRow, parse_row
from flows.identifiers import check_identifier, normalise_a_number
from flows.receipts import PREFIXES, check_receipt, looks_like_receipt, parse_receipt
from tests.domain_titles import DOMAIN_TITLES

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
_SETTINGS = load_settings()
CONFIG = load_policy(_SETTINGS, Catalogue.load(_SETTINGS.config_dir / "messages"))
RULES = CONFIG.biometrics


# ---- receipt numbers -------------------------------------------------------------------


@pytest.mark.parametrize("prefix", sorted(PREFIXES))
def test_every_known_prefix_parses(prefix: str) -> None:
    receipt = parse_receipt(f"{prefix}2112312345")
    assert receipt.value == f"{prefix}2112312345"


@pytest.mark.parametrize(
    "typed",
    ["EAC-21-123-45678", "eac 21 123 45678", " Eac2112345678 ", "EAC 2112345678", "eac-2112345678"],
)
def test_dashes_spaces_and_lower_case_are_normalised(typed: str) -> None:
    assert parse_receipt(typed).value == "EAC2112345678"


@pytest.mark.parametrize("typed, length", [("EAC211234567", 12), ("EAC21123456789", 14)])
def test_twelve_or_fourteen_characters_is_wrong_length(typed: str, length: int) -> None:
    check = check_receipt(typed)
    assert check.rule == "receipt.wrong_length" and check.length == length


def test_unknown_prefix_is_named() -> None:
    check = check_receipt("XYZ2112345678")
    assert check.rule == "receipt.unknown_prefix" and not check.ok


def test_letters_in_the_digits_are_reported() -> None:
    check = check_receipt("EAC21123O5678")
    assert check.rule == "receipt.letters_in_digits" and check.bad_characters == ("O",)


def test_digits_where_letters_belong() -> None:
    assert check_receipt("1232112345678").rule == "receipt.not_letters"


def test_ioe_keeps_its_leading_zero_and_is_never_decoded() -> None:
    receipt = parse_receipt("IOE0912345678")
    assert receipt.digits == "0912345678"
    assert receipt.decode() is None


def test_service_center_receipt_decodes_fiscal_year_and_working_day() -> None:
    decoded = parse_receipt("LIN2210054321").decode()
    assert decoded is not None
    assert (decoded.fiscal_year, decoded.working_day, decoded.sequence) == (2022, 100, "54321")


def test_working_day_beyond_a_year_is_not_claimed() -> None:
    decoded = parse_receipt("EAC2190000001").decode()
    assert decoded is not None and decoded.fiscal_year == 2021 and decoded.working_day is None


@given(
    prefix=st.sampled_from(sorted(PREFIXES)),
    digits=st.text("0123456789", min_size=10, max_size=10),
    seps=st.lists(st.sampled_from(["", " ", "-"]), min_size=4, max_size=4),
)
def test_any_well_formed_receipt_round_trips(prefix: str, digits: str, seps: list[str]) -> None:
    typed = f"{prefix.lower()}{seps[0]}{digits[:2]}{seps[1]}{digits[2:5]}{seps[2]}{digits[5:]}"
    receipt = parse_receipt(typed)
    assert receipt.value == prefix + digits
    assert looks_like_receipt(typed)


@pytest.mark.parametrize("text", ["hello there", "I-485", "what is my status", "A12345678"])
def test_ordinary_words_are_not_taken_for_receipts(text: str) -> None:
    assert not looks_like_receipt(text)


# ---- A-numbers and identifiers ---------------------------------------------------------


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("A1234567", "A001234567"),
        ("a12345678", "A012345678"),
        ("A-123-456-789", "A123456789"),
        ("123456789", "A123456789"),
    ],
)
def test_a_number_is_normalised_to_nine_digits(typed: str, expected: str) -> None:
    assert normalise_a_number(typed) == expected


@pytest.mark.parametrize("typed", ["A123456", "A1234567890", "B12345678"])
def test_a_number_with_wrong_digit_count_is_refused(typed: str) -> None:
    assert normalise_a_number(typed) is None


def test_identifier_accepts_receipt_or_a_number() -> None:
    assert check_identifier("eac-2112345678").value == "EAC2112345678"
    assert check_identifier("A 12345678").kind == "a_number"
    assert check_identifier("EAC211234").rule == "receipt.wrong_length"
    assert check_identifier("my name").rule == "identifier.unreadable"


# ---- case statuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "group, title", [(g, t) for g, titles in DOMAIN_TITLES.items() for t in titles]
)
def test_every_domain_title_is_in_its_group(group: str, title: str) -> None:
    assert CONFIG.statuses.explain(title).group == group


def test_titles_match_despite_case_and_punctuation() -> None:
    assert (
        CONFIG.statuses.explain("response to uscis request for evidence was received").group
        == "evidence"
    )


def test_unknown_title_gets_the_generic_answer() -> None:
    explained = CONFIG.statuses.explain("Case Is On Hold For An Unusual Reason")
    assert explained.rule == "status.unknown_title" and explained.next_step


def test_transferred_case_keeps_its_receipt_number() -> None:
    explained = CONFIG.statuses.explain("Case Was Transferred And A New Office Has Jurisdiction")
    assert "same" in explained.meaning


# ---- biometrics eligibility ------------------------------------------------------------


def _decide(at: datetime, reschedules: int = 0, form: str = "I-485") -> str:
    return decide_reschedule(BiometricsAppointment(form, at, reschedules), NOW, RULES).rule


def test_exactly_12_hours_away_is_still_allowed_online() -> None:
    assert _decide(NOW + timedelta(hours=12)) == "biometrics.eligible"


def test_biometrics_11_h_59_min_away_goes_to_contact_center() -> None:
    assert _decide(NOW + timedelta(hours=11, minutes=59)) == "biometrics.less_than_12_hours"


def test_appointment_one_minute_past_has_passed() -> None:
    assert _decide(NOW - timedelta(minutes=1)) == "biometrics.date_passed"


def test_one_earlier_reschedule_is_allowed() -> None:
    assert _decide(NOW + timedelta(days=30), reschedules=1) == "biometrics.eligible"


def test_two_earlier_reschedules_go_to_contact_center() -> None:
    assert _decide(NOW + timedelta(days=30), reschedules=2) == "biometrics.rescheduled_twice"


@pytest.mark.parametrize("form", ["I-600", "I-600A", "I-800", "I-800A", "i600a"])
def test_every_excluded_form_goes_to_contact_center(form: str) -> None:
    assert _decide(NOW + timedelta(days=30), form=form) == "biometrics.excluded_form"


def test_free_days_skip_full_slots_weekends_and_holidays() -> None:
    site = RULES.site("nyc")
    assert site is not None
    wednesday = datetime(2026, 11, 25, 8, 0, tzinfo=TZ)
    # Tuesday 10:00 + 24 h lead: first candidate is Wednesday 10:00; fill Wednesday 10:00.
    now = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
    full = wednesday.replace(hour=10)
    days = free_days(site, now, {full: site.capacity}, RULES, lambda d: d.day == 26)
    assert days[0].day == date(2026, 11, 25)
    assert days[0].first == full + timedelta(minutes=30)
    assert [d.day for d in days[:2]] == [date(2026, 11, 25), date(2026, 11, 27)]  # 26: holiday
    slots = [s for d in days for s in d.slots]
    assert all(s.at.weekday() < 5 for s in slots)
    assert all(s.at >= now + timedelta(hours=24) for s in slots)
    assert all(s.at.date() == d.day for d in days for s in d.slots)


def test_a_day_whose_every_slot_is_full_is_not_offered() -> None:
    site = RULES.site("nyc")
    assert site is not None
    now = datetime(2026, 11, 23, 7, 0, tzinfo=TZ)
    tuesday = [s.at for s in free_days(site, now, {}, RULES, lambda d: False)[0].slots]
    assert tuesday and all(t.date() == date(2026, 11, 24) for t in tuesday)
    booked = dict.fromkeys(tuesday, site.capacity)
    days = free_days(site, now, booked, RULES, lambda d: False)
    assert days[0].day == date(2026, 11, 25)


# ---- in-person request checks, case rows, asking for a person --------------------------


def test_preferred_date_must_be_future_and_readable() -> None:
    assert check_preferred_date("2026-12-01", NOW, 180).ok
    assert check_preferred_date("2026-11-23", NOW, 180).rule == "appointment.date_not_future"
    assert check_preferred_date("next tuesday", NOW, 180).rule == "appointment.date_unreadable"
    assert check_preferred_date("2028-01-01", NOW, 180).rule == "appointment.date_too_far"


@pytest.mark.parametrize(
    "typed",
    [
        "11/30/2026",
        "11/30/26",
        "11-30-2026",
        "Nov 30 2026",
        "November 30, 2026",
        "nov. 30th, 2026",
        "30 November 2026",
        "Nov 30",  # no year: the next November 30
        "11/30",
        "2026-11-30",
        " 2026-11-30 ",
    ],
)
def test_dates_are_read_the_american_way_and_in_iso(typed: str) -> None:
    assert read_date(typed, NOW.date()) == date(2026, 11, 30)
    assert check_preferred_date(typed, NOW, 180).value == "2026-11-30"


@pytest.mark.parametrize("typed", ["30/11/2026", "2/30/2026", "Smarch 3 2026", "30/11", "tomorrow"])
def test_dates_that_are_not_real_or_ambiguous_are_not_guessed(typed: str) -> None:
    assert read_date(typed, NOW.date()) is None


def test_a_month_day_without_year_that_has_passed_is_next_year() -> None:
    assert read_date("Jan 5", NOW.date()) == date(2027, 1, 5)
    assert read_date("1/12/27", NOW.date()) == date(2027, 1, 12)


def test_weekends_and_federal_holidays_are_refused_with_the_reason() -> None:
    def check(typed: str) -> str:
        return check_preferred_date(typed, NOW, 180, holiday_name).rule

    assert check("11/26/2026") == "appointment.date_holiday"  # Thanksgiving
    assert check("12/25/2026") == "appointment.date_holiday"
    assert check("7/3/2026") == "appointment.date_not_future"  # past, said first
    assert check("2027-07-05") == "appointment.date_too_far"  # observed, but too far anyway
    assert check("Nov 28 2026") == "appointment.date_weekend"  # Saturday
    assert check("11/29/26") == "appointment.date_weekend"  # Sunday
    assert check("11/27/2026") == "appointment.date_ok"  # the Friday after Thanksgiving


def test_reason_must_say_something() -> None:
    assert check_reason("  urgent  ").rule == "appointment.reason_too_short"
    assert check_reason("My mother is in hospital abroad").ok


def test_case_row_local_time_gets_the_service_zone() -> None:
    record = parse_row(
        {
            "receipt_number": "eac-2112345678",
            "form_type": "i-485",
            "status_title": "Case Was Received",
            "status_date": "2026-01-02",
            "biometrics_at": "2027-01-05T09:00",
        },
        TZ,
    )
    assert record.receipt_number == "EAC2112345678" and record.form_type == "I-485"
    assert record.biometrics_at == datetime(2027, 1, 5, 9, 0, tzinfo=TZ)


def test_case_row_with_bad_date_is_refused_with_the_column() -> None:
    with pytest.raises(BadRow, match="status_date"):
        parse_row(
            {
                "receipt_number": "EAC2112345678",
                "form_type": "I-485",
                "status_title": "x",
                "status_date": "02/01/2026",
            },
            TZ,
        )


@pytest.mark.parametrize("text", ["That didn't help", "talk to a person please", "agent"])
def test_wish_for_a_person_is_recognised(text: str) -> None:
    assert CONFIG.self_service.wants_person(text)


def test_ordinary_question_is_not_a_wish_for_a_person() -> None:
    assert not CONFIG.self_service.wants_person("when is my appointment")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "?!",
        "agents",
        "an agent!",
        "It didn't help at all",
        "did  not   help",
        "HUMAN",
        "humane",
        "speak to a real person",
        "talk to a per son",
    ],
)
def test_a_wish_for_a_person_is_a_phrase_among_the_words(text: str) -> None:
    """One search for any phrase finds what looking for each phrase in turn finds, also
    with a phrase that simplifies to nothing."""
    from flows.self_service import SelfService, _simplify

    odd = SelfService(
        phones=CONFIG.self_service.phones,
        topics=CONFIG.self_service.topics,
        person_phrases=["?!", "agent"],
    )
    said = f" {_simplify(text)} "
    for service in (CONFIG.self_service, odd):
        wanted = any(f" {_simplify(p)} " in said for p in service.person_phrases)
        assert service.wants_person(text) == wanted


def test_bad_config_file_is_refused_with_file_field_and_reason(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from bot.config import ConfigError

    shutil.copytree(_SETTINGS.config_dir, tmp_path, dirs_exist_ok=True)
    (tmp_path / "biometrics.toml").write_text(
        (_SETTINGS.config_dir / "biometrics.toml")
        .read_text()
        .replace("capacity = 3", "capacity = 0", 1)
    )
    settings = load_settings(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_policy(settings, Catalogue.load(tmp_path / "messages"))
    assert "biometrics.toml" in str(err.value) and "capacity" in str(err.value)
