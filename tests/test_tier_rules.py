"""The pure rules of Tier 1 and Tier 2: business days, live hours, callback slots, phone
numbers, in-person decisions, triage and field-office appointment dates."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_settings
from bot.messages import Catalogue
from bot.policy import load_policy
from flows.business_days import business_days_after, holiday_name, is_business_day
from flows.callback_slots import CallbackPolicy, callback_offer, candidate_slots, horizon
from flows.field_appointment import appointment_slot
from flows.inperson_decision import InPersonRequest, decide_in_person
from flows.live_hours import LiveHours, next_opening, operators_live
from flows.phone import parse_us_phone
from flows.triage import decide_role, rate_urgency, route

ET = ZoneInfo("America/New_York")
POLICY = CallbackPolicy(min_notice_minutes=0)


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ET)


@pytest.fixture(scope="module")
def tier_config():  # type: ignore[no-untyped-def]
    settings = load_settings()
    return load_policy(settings, Catalogue.load(settings.config_dir / "messages"))


# ---- business days and slots across weekends and holidays ----------------------------------


@pytest.mark.parametrize(
    "holiday", [date(2026, 11, 26), date(2026, 12, 25), date(2026, 7, 3), date(2027, 1, 1)]
)
def test_federal_holidays_get_no_callback_slots(holiday: date) -> None:
    assert not is_business_day(holiday)
    slots = candidate_slots(
        at(holiday.year, holiday.month, holiday.day - 1, 18, 0)
        if holiday.day > 1
        else at(2026, 12, 31, 18, 0),
        False,
        POLICY,
    )
    assert slots, "a regular request always has slots"
    assert all(s.date() != holiday for s in slots)


def test_slots_skip_thanksgiving_and_the_weekend() -> None:
    # Wednesday 25 Nov 2026 after the last slot: next is Friday 27 (26 is Thanksgiving).
    slots = candidate_slots(at(2026, 11, 25, 18, 10), False, POLICY)
    assert slots[0] == at(2026, 11, 27, 7, 0)
    days = {s.date() for s in slots[:100]}
    assert date(2026, 11, 26) not in days
    assert date(2026, 11, 28) not in days and date(2026, 11, 29) not in days
    assert date(2026, 11, 30) in days


def test_independence_day_observed_on_friday_moves_slots_to_monday() -> None:
    slots = candidate_slots(at(2026, 7, 2, 19, 0), False, POLICY)
    assert slots[0] == at(2026, 7, 6, 7, 0)


def test_christmas_and_new_year_are_skipped() -> None:
    slots = candidate_slots(at(2026, 12, 24, 19, 0), False, POLICY)
    assert slots[0] == at(2026, 12, 28, 7, 0)
    slots = candidate_slots(at(2026, 12, 31, 19, 0), False, POLICY)
    assert slots[0] == at(2027, 1, 4, 7, 0)


def test_window_edges_first_slot_at_seven_last_ends_by_half_past_six() -> None:
    slots = [
        s
        for s in candidate_slots(at(2026, 11, 23, 6, 0), False, POLICY)
        if s.date() == date(2026, 11, 23)
    ]
    assert slots[0].time() == time(7, 0)
    assert slots[-1].time() == time(18, 0)  # 18:00-18:30 is the last that fits
    assert len(slots) == 23


def test_a_request_just_before_closing_is_offered_the_next_business_day() -> None:
    slots = candidate_slots(at(2026, 11, 23, 18, 1), False, POLICY)
    assert slots[0] == at(2026, 11, 24, 7, 0)


def test_minimum_notice_keeps_the_next_half_hour_out() -> None:
    policy = CallbackPolicy(min_notice_minutes=60)
    assert candidate_slots(at(2026, 11, 23, 10, 0), False, policy)[0] == at(2026, 11, 23, 11, 0)


def test_urgent_requests_stay_within_72_hours() -> None:
    now = at(2026, 11, 20, 15, 0)  # a Friday: 72 hours reach Monday 15:00
    slots = candidate_slots(now, True, POLICY)
    assert slots[-1] == at(2026, 11, 23, 15, 0)
    assert all(s.weekday() < 5 for s in slots)
    assert horizon(now, True, POLICY) == at(2026, 11, 23, 15, 0)


def test_regular_requests_reach_30_business_days_later() -> None:
    now = at(2026, 11, 23, 10, 0)
    slots = candidate_slots(now, False, POLICY)
    last_day = business_days_after(date(2026, 11, 23), 30)
    assert slots[-1].date() == last_day
    assert last_day == date(2027, 1, 7)  # Thanksgiving, Christmas and New Year skipped
    assert len(candidate_slots(now, True, POLICY)) < len(slots)


def test_offer_groups_free_slots_by_day_and_skips_full_ones() -> None:
    now = at(2026, 11, 23, 6, 0)
    monday = candidate_slots(now, False, POLICY)[:23]
    booked = {monday[0]: 3, monday[1]: 2}
    offer = callback_offer(now, False, booked, POLICY)
    first = offer.days[0]
    assert first.day == date(2026, 11, 23) and first.first == monday[1]
    assert first.slots[0].free == 1 and len(first.slots) == 22
    full_monday = dict.fromkeys(monday, 3)
    assert callback_offer(now, False, full_monday, POLICY).days[0].day == date(2026, 11, 24)
    assert callback_offer(now, False, full_monday, POLICY, days=2).days[-1].day == date(
        2026, 11, 25
    )


# ---- live hours -----------------------------------------------------------------------------

HOURS = LiveHours(time(8), time(20))


@pytest.mark.parametrize(
    ("now", "rule"),
    [
        (at(2026, 11, 23, 10), "live_hours.open"),
        (at(2026, 11, 23, 7, 59), "live_hours.before_opening"),
        (at(2026, 11, 23, 20, 0), "live_hours.after_closing"),
        (at(2026, 11, 21, 12), "live_hours.weekend"),
        (at(2026, 11, 26, 12), "live_hours.holiday"),
    ],
)
def test_operators_are_live_weekdays_eight_to_eight_except_holidays(
    now: datetime, rule: str
) -> None:
    decision = operators_live(now, HOURS)
    assert decision.rule == rule
    assert decision.open is (rule == "live_hours.open")


@pytest.mark.parametrize(
    ("now", "reopens"),
    [
        (at(2026, 11, 23, 7, 59), at(2026, 11, 23, 8, 0)),  # before opening: today
        (at(2026, 11, 23, 20, 0), at(2026, 11, 24, 8, 0)),  # after closing: tomorrow
        (at(2026, 11, 20, 20, 30), at(2026, 11, 23, 8, 0)),  # Friday evening: Monday
        (at(2026, 11, 25, 21, 0), at(2026, 11, 27, 8, 0)),  # Thanksgiving skipped
        (at(2026, 12, 31, 20, 0), at(2027, 1, 4, 8, 0)),  # New Year's Day, then a weekend
        (at(2027, 1, 2, 10, 0), at(2027, 1, 4, 8, 0)),  # Saturday
        (at(2026, 1, 19, 10, 0), at(2026, 1, 20, 8, 0)),  # Martin Luther King Jr. Day
        (at(2026, 7, 3, 9, 0), at(2026, 7, 6, 8, 0)),  # Independence Day observed, Friday
    ],
)
def test_when_operators_are_off_the_next_opening_is_known(now: datetime, reopens: datetime) -> None:
    decision = operators_live(now, HOURS)
    assert not decision.open and decision.reopens == reopens
    assert next_opening(now, HOURS) == reopens
    assert operators_live(reopens, HOURS).open


def test_next_opening_while_open_is_now_and_never_a_closed_moment() -> None:
    now = at(2026, 11, 23, 10)
    assert operators_live(now, HOURS).reopens is None and next_opening(now, HOURS) == now
    moment = at(2026, 1, 1, 0, 0)
    while moment.year == 2026:  # every hour of a year: the next opening is live
        assert operators_live(next_opening(moment, HOURS), HOURS).open, moment
        moment += timedelta(hours=1)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 1, 19), "Martin Luther King Jr. Day"),
        (date(2027, 1, 18), "Martin Luther King Jr. Day"),
        (date(2026, 11, 26), "Thanksgiving Day"),
        (date(2026, 7, 3), "Independence Day (observed)"),
        (date(2025, 12, 24), "Christmas Eve"),  # a one-off federal closure
        (date(2026, 11, 24), None),
    ],
)
def test_a_holiday_is_named_once(day: date, name: str | None) -> None:
    assert holiday_name(day) == name
    decision = operators_live(datetime.combine(day, time(12), tzinfo=ET), HOURS)
    if name is not None:
        assert decision.holiday == name and ";" not in name


# ---- phone numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "2025550143",
        "202-555-0143",
        "(202) 555-0143",
        "202.555.0143",
        "+1 202 555 0143",
        "1-202-555-0143",
        "+1 (202) 555-0143",
    ],
)
def test_us_phone_numbers_as_people_write_them(typed: str) -> None:
    phone = parse_us_phone(typed)
    assert phone is not None and phone.e164 == "+12025550143"


@pytest.mark.parametrize(
    "typed",
    [
        "555-0143",
        "202-555-014",
        "(102) 555-0143",
        "202-155-0143",
        "+44 20 7946 0958",
        "call me",
        "",
    ],
)
def test_anything_else_is_refused(typed: str) -> None:
    assert parse_us_phone(typed) is None


# ---- in-person decisions: every rule, justified and not ---------------------------------------

JUSTIFIABLE = [
    "proof_of_status",
    "emergency_advance_parole",
    "daca",
    "parole_in_place",
    "satisfactory_departure",
    "immigration_judge_grant",
]


@pytest.mark.parametrize("category", JUSTIFIABLE)
def test_urgent_category_with_evidence_justifies_a_visit(tier_config, category: str) -> None:  # type: ignore[no-untyped-def]
    decision = decide_in_person(InPersonRequest(category, False, True), tier_config.inperson)
    assert decision.justified
    assert decision.rule_id == f"inperson.{category}"
    assert decision.explanation == f"tier2.why.{category}"


@pytest.mark.parametrize("category", JUSTIFIABLE)
def test_urgent_category_without_evidence_does_not(tier_config, category: str) -> None:  # type: ignore[no-untyped-def]
    decision = decide_in_person(InPersonRequest(category, True, False), tier_config.inperson)
    assert not decision.justified
    assert decision.rule_id == f"inperson.{category}.no_evidence"


def test_case_status_question_never_justifies_a_visit(tier_config) -> None:  # type: ignore[no-untyped-def]
    decision = decide_in_person(InPersonRequest("case_status", True, True), tier_config.inperson)
    assert not decision.justified
    assert decision.rule_id == "inperson.case_status"
    assert not decision.walk_in_guidance


def test_other_reasons_need_an_emergency_and_evidence(tier_config) -> None:  # type: ignore[no-untyped-def]
    justified = decide_in_person(InPersonRequest("other", True, True), tier_config.inperson)
    assert justified.justified and justified.rule_id == "inperson.other"
    assert justified.walk_in_guidance
    refused = decide_in_person(InPersonRequest("other", False, True), tier_config.inperson)
    assert not refused.justified and refused.rule_id == "inperson.other.no_emergency"


def test_emergency_adds_walk_in_guidance_only_in_an_emergency(tier_config) -> None:  # type: ignore[no-untyped-def]
    policy = tier_config.inperson
    assert decide_in_person(InPersonRequest("daca", True, True), policy).walk_in_guidance
    assert not decide_in_person(InPersonRequest("daca", False, True), policy).walk_in_guidance


# ---- triage ---------------------------------------------------------------------------------


def test_only_applicant_petitioner_or_g28_representative_may_discuss_a_case() -> None:
    assert decide_role("applicant").may_discuss_case
    assert decide_role("petitioner").may_discuss_case
    assert decide_role("representative_g28").may_discuss_case
    assert decide_role("representative_no_g28").rule == "role.no_g28"
    assert not decide_role("other").may_discuss_case


def test_routing_knowledge_base_service_request_and_officer() -> None:
    kb, sr = {"change_of_address": "change_of_address"}, ("notice_not_received",)
    assert (
        route(
            "change_of_address", operators_live=False, knowledge=kb, service_request_issues=sr
        ).outcome
        == "knowledge_base"
    )
    live = route(
        "notice_not_received", operators_live=True, knowledge=kb, service_request_issues=sr
    )
    assert (live.outcome, live.rule) == (
        "service_request",
        "triage.service_request.notice_not_received",
    )
    closed = route(
        "notice_not_received", operators_live=False, knowledge=kb, service_request_issues=sr
    )
    assert (closed.outcome, closed.rule) == ("tier2", "triage.after_hours_callback")
    assert (
        route(
            "biometrics_not_online", operators_live=True, knowledge=kb, service_request_issues=sr
        ).outcome
        == "tier2"
    )


def test_urgency_emergency_or_justified_visit_otherwise_regular(tier_config) -> None:  # type: ignore[no-untyped-def]
    visit = decide_in_person(InPersonRequest("proof_of_status", False, True), tier_config.inperson)
    assert rate_urgency(True, None).rule == "urgency.emergency"
    assert rate_urgency(False, visit).urgent
    assert rate_urgency(False, visit).rule == "urgency.inperson.proof_of_status"
    assert not rate_urgency(False, None).urgent


# ---- field-office appointments ----------------------------------------------------------------


def test_appointment_five_business_days_after_a_wednesday_call_before_thanksgiving(
    tier_config,
) -> None:  # type: ignore[no-untyped-def]
    office = tier_config.offices.for_zip("10278")
    # Wed 25 Nov 2026; Thu 26 is Thanksgiving: 27, 30, 1, 2, 3 -> Thursday 3 December.
    slot = appointment_slot(at(2026, 11, 25, 11), office, 5, {})
    assert slot == datetime.combine(date(2026, 12, 3), office.opens, tzinfo=ET)


def test_a_full_day_moves_the_appointment_to_the_next_business_day(tier_config) -> None:  # type: ignore[no-untyped-def]
    office = tier_config.offices.for_zip("10278")
    from flows.field_appointment import office_slots

    full = {s: office.capacity for s in office_slots(date(2026, 12, 3), office, ET)}
    slot = appointment_slot(at(2026, 11, 25, 11), office, 5, full)
    assert slot is not None and slot.date() == date(2026, 12, 4)


def test_zip_code_picks_the_nearest_field_office_and_never_a_default(tier_config) -> None:  # type: ignore[no-untyped-def]
    offices = tier_config.offices
    assert offices.for_zip("60605").id == "chicago"
    assert offices.for_zip("99999") is None  # no such ZIP code
    assert offices.for_zip(None) is None
