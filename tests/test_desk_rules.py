"""The staff desk's pure rules (flows/desk.py): which outcomes fit which item, the SLA due
time over weekends and holidays, the visit day an officer may choose, and what the
applicant is asked to bring."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_settings
from bot.messages import Catalogue
from bot.policy import load_policy
from flows.callback_slots import CallbackPolicy
from flows.desk import (
    Outcome,
    VisitRule,
    bring_keys,
    choose_visit,
    fitting_outcomes,
    is_emergency,
    request_urgency,
    sla_due,
)
from flows.facts import Policy
from flows.field_appointment import FieldOffice
from flows.inperson_decision import OTHER

ET = ZoneInfo("America/New_York")
OFFICE = FieldOffice(
    id="nyc",
    name="New York City Field Office",
    street="26 Federal Plaza",
    city="New York",
    state="NY",
    zip="10278",
    timezone="America/New_York",
    opens="08:00",  # type: ignore[arg-type]
    closes="15:30",  # type: ignore[arg-type]
    capacity=2,
)


@pytest.fixture(scope="module")
def policy() -> Policy:
    settings = load_settings()
    return load_policy(settings, Catalogue.load(settings.config_dir / "messages"))


def test_outcomes_fit_the_kind_of_item() -> None:
    assert fitting_outcomes("service_request", "notice_not_received") == (
        Outcome.RESOLVED,
        Outcome.REFUSED,
    )
    assert Outcome.APPOINTMENT not in fitting_outcomes("callback", "case_status")
    assert Outcome.BIOMETRICS not in fitting_outcomes("callback", "something_else")
    assert Outcome.BIOMETRICS in fitting_outcomes("callback", "biometrics_not_online")
    # Sent up by the automated tier's not-online rule, whatever issue was picked after.
    assert Outcome.BIOMETRICS in fitting_outcomes(
        "callback", "something_else", "biometrics.less_than_12_hours"
    )
    request = fitting_outcomes("appointment_request", "proof_of_status")
    assert Outcome.REFUSED in request and Outcome.BIOMETRICS not in request


def test_sla_urgent_72_hours_regular_30_business_days_holidays_skipped() -> None:
    policy = CallbackPolicy()
    friday = datetime(2026, 11, 20, 10, 0, tzinfo=ET)
    assert sla_due(friday, True, policy) == datetime(2026, 11, 23, 10, 0, tzinfo=ET)
    # 30 business days from Monday 23 November: Thanksgiving and Christmas are not counted.
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=ET)
    assert sla_due(monday, False, policy) == datetime(2027, 1, 7, 18, 30, tzinfo=ET)


def test_request_urgency_follows_the_category(policy: Policy) -> None:
    inperson = policy.inperson
    assert request_urgency(inperson.rule_for("proof_of_status")).urgent
    assert request_urgency(inperson.rule_for("proof_of_status")).rule == (
        "urgency.request.inperson.proof_of_status"
    )
    assert not request_urgency(inperson.rule_for(OTHER)).urgent  # needs an emergency shown
    assert not request_urgency(inperson.rule_for("case_status")).urgent


def test_every_request_type_of_the_form_has_its_own_category(policy: Policy) -> None:
    for kind in policy.requests.types:
        category = policy.inperson.category_for_request_type(kind.id)
        assert (category == OTHER) == (kind.id == OTHER), kind.id


def test_emergency_from_triage_or_by_nature(policy: Policy) -> None:
    eap = policy.inperson.rule_for("emergency_advance_parole")
    assert is_emergency("urgency.regular", eap)
    assert is_emergency("urgency.emergency", policy.inperson.rule_for(OTHER))
    assert not is_emergency("urgency.inperson.daca", policy.inperson.rule_for("daca"))


def _visit(wanted: date | datetime, emergency: bool = True, **booked: int) -> tuple[object, ...]:
    now = datetime(2026, 11, 23, 11, 0, tzinfo=ET)  # Monday
    taken = {datetime.fromisoformat(k[1:]).replace(tzinfo=ET): n for k, n in booked.items()}
    choice = choose_visit(
        wanted, now=now, office=OFFICE, lead_business_days=5, emergency=emergency, booked=taken
    )
    return choice.slot, choice.rule


def test_an_officer_may_choose_an_earlier_day_only_for_an_emergency() -> None:
    tuesday_9 = datetime(2026, 11, 24, 9, 0, tzinfo=ET)
    assert _visit(tuesday_9) == (tuesday_9, VisitRule.CHOSEN)
    assert _visit(tuesday_9, emergency=False) == (None, VisitRule.EARLIER_NEEDS_EMERGENCY)
    # The usual day (five business days, Thanksgiving skipped) or later is anyone's.
    later = datetime(2026, 12, 1, 9, 0, tzinfo=ET)
    assert _visit(later, emergency=False) == (later, VisitRule.CHOSEN)


def test_a_chosen_visit_must_be_within_hours_capacity_and_business_days() -> None:
    assert _visit(date(2026, 11, 26)) == (None, VisitRule.NOT_BUSINESS_DAY)  # Thanksgiving
    assert _visit(date(2026, 11, 28)) == (None, VisitRule.NOT_BUSINESS_DAY)  # Saturday
    assert _visit(datetime(2026, 11, 24, 7, 0, tzinfo=ET))[1] == VisitRule.OUTSIDE_HOURS
    assert _visit(datetime(2026, 11, 24, 15, 30, tzinfo=ET))[1] == VisitRule.OUTSIDE_HOURS
    assert _visit(datetime(2026, 11, 24, 9, 10, tzinfo=ET))[1] == VisitRule.OUTSIDE_HOURS
    assert _visit(datetime(2026, 11, 23, 9, 0, tzinfo=ET))[1] == VisitRule.PASSED
    assert _visit(date(2026, 11, 20))[1] == VisitRule.PASSED
    assert _visit(date(2027, 6, 1))[1] == VisitRule.TOO_FAR
    full = {"_2026-11-24T09:00": 2}
    assert _visit(datetime(2026, 11, 24, 9, 0, tzinfo=ET), **full)[1] == VisitRule.FULL
    # A day alone takes its first slot with room; today, only the times still ahead.
    assert _visit(date(2026, 11, 24), **{"_2026-11-24T08:00": 2}) == (
        datetime(2026, 11, 24, 8, 30, tzinfo=ET),
        VisitRule.CHOSEN,
    )
    assert _visit(date(2026, 11, 23))[0] == datetime(2026, 11, 23, 11, 30, tzinfo=ET)


def test_proof_of_the_emergency_only_for_an_emergency(policy: Policy) -> None:
    keys = {"tier2.bring.other", "tier2.bring.emergency_advance_parole", "tier2.bring.daca"}

    def has(key: str) -> bool:
        return key in keys

    assert bring_keys("other", emergency=False, category_is_emergency=False, has=has) == [
        "tier2.bring.other"
    ]
    assert bring_keys("other", emergency=True, category_is_emergency=False, has=has) == [
        "tier2.bring.other",
        "tier2.bring.emergency",
    ]
    # Emergency advance parole asks for it in its own list already.
    assert bring_keys(
        "emergency_advance_parole", emergency=True, category_is_emergency=True, has=has
    ) == ["tier2.bring.emergency_advance_parole"]
    assert bring_keys("something_else", emergency=False, category_is_emergency=False, has=has) == [
        "tier2.bring.general"
    ]
    messages = Catalogue.load(load_settings().config_dir / "messages")
    assert "emergency" not in messages.text("tier2.bring.other")
