"""The automated tier's declarations, run without an engine or a database: the guards of
each step decide on typed facts, the way the interpreter runs them (routes in order, a
route skipped when the machine does not allow its trigger)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from msgspec.structs import replace

from bot.config import load_settings
from bot.messages import Catalogue
from bot.policy import load_policy
from bot.text import render
from flows import automated as flow
from flows.appointment_request import AppointmentRule
from flows.automated_common import AutomatedRule
from flows.automated_status import StatusRule, receipt_routes
from flows.biometrics import BiometricsRule
from flows.case_records import CaseRecord
from flows.facts import Facts, Loaded, Policy
from flows.identifiers import IdentifierRule
from flows.receipts import ReceiptRule
from flows.state import EMPTY, BiometricsAnswers, ConversationState
from flows.steps import Answer, Decision, Route, Step
from flows.tiers import definition

_SETTINGS = load_settings()
MESSAGES = Catalogue.load(_SETTINGS.config_dir / "messages")
POLICY = load_policy(_SETTINGS, MESSAGES)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/New_York"))
RECEIPT = "LIN2210054321"


def _case(at: datetime | None, reschedules: int = 0, form: str = "I-485") -> CaseRecord:
    return CaseRecord(
        RECEIPT, form, "Biometrics Appointment Was Scheduled", date(2026, 11, 2), None, at,
        "nyc", reschedules,
    )  # fmt: skip


def _facts(
    current: str,
    answer: Answer,
    *,
    state: ConversationState = EMPTY,
    loaded: Loaded | None = None,
    policy: Policy = POLICY,
) -> Facts:
    return Facts(
        now=NOW,
        state=state,
        policy=policy,
        current=current,
        answer=answer,
        loaded=loaded or Loaded(),
        allows=lambda trigger: definition().transition_for(trigger, current) is not None,
    )


def _step(state: str) -> Step:
    return next(s for s in flow.TIER.steps if s.state == state)


def _decide(routes: tuple[Route, ...], f: Facts) -> tuple[Route, Decision]:
    for r in routes:
        if r.trigger is not None and not f.allows(r.trigger):
            continue
        decision = r.when(f)
        if decision is not None:
            return r, decision
    raise AssertionError("no route was taken")


def test_too_soon_refusal_names_the_notice_from_configuration() -> None:
    rules = POLICY.biometrics.model_copy(update={"min_notice_hours": 24})
    policy = replace(POLICY, biometrics=rules)
    f = _facts(
        flow.BIO_ASK,
        Answer("text", text=RECEIPT),
        loaded=Loaded(case=_case(NOW + timedelta(hours=20))),
        policy=policy,
    )
    r, decision = _decide(_step(flow.BIO_ASK).routes, f)
    assert (r.trigger, decision.rule) == ("escalate", BiometricsRule.TOO_SOON)
    assert decision.state is not None
    assert decision.state.escalation_reason == BiometricsRule.TOO_SOON
    text = render(MESSAGES, decision.says[0])
    assert "less than 24 hours away" in text and "Monday, November 23, 2026, 6:00 a.m." not in text


def test_pressing_a_slot_decides_the_rules_again_on_fresh_data() -> None:
    state = EMPTY.but(receipt=RECEIPT, biometrics=BiometricsAnswers(site="nyc", cause="travel"))
    f = _facts(
        flow.BIO_TIME,
        Answer("bio:slot", ("nyc", "202611241000")),
        state=state,
        loaded=Loaded(case=_case(datetime(2030, 3, 12, 9, tzinfo=NOW.tzinfo), reschedules=2)),
    )
    r, decision = _decide(_step(flow.BIO_TIME).routes, f)
    assert (r.trigger, decision.rule) == ("escalate", BiometricsRule.RESCHEDULED_TWICE)
    assert "After 2 changes" in render(MESSAGES, decision.says[0])


def test_a_slot_filled_meanwhile_is_said_and_the_days_other_times_shown_again() -> None:
    full = datetime(2026, 11, 24, 10, 0, tzinfo=NOW.tzinfo)
    state = EMPTY.but(
        receipt=RECEIPT,
        biometrics=BiometricsAnswers(site="nyc", cause="travel", day=full.date()),
    )
    booked = {full: POLICY.biometrics.site("nyc").capacity}  # type: ignore[union-attr]
    f = _facts(
        flow.BIO_TIME,
        Answer("bio:slot", ("nyc", "202611241000")),
        state=state,
        loaded=Loaded(
            case=_case(datetime(2030, 3, 12, 9, tzinfo=NOW.tzinfo)), biometrics_booked=booked
        ),
    )
    r, decision = _decide(_step(flow.BIO_TIME).routes, f)
    assert (r.trigger, decision.rule, decision.again) == (None, BiometricsRule.SLOT_GONE, True)
    assert "just taken" in render(MESSAGES, decision.says[0])
    step = _step(flow.BIO_TIME)
    assert step.show is not None
    [times] = step.show(f.but(answer=Answer(""))).says
    offered = [c.args for c in times.choices if c.kind == "bio:slot"]
    assert offered and ("nyc", "202611241000") not in offered
    assert all(code.startswith("20261124") for _site, code in offered)


def test_a_day_that_filled_up_is_said_and_the_days_offered_again() -> None:
    site = POLICY.biometrics.site("nyc")
    assert site is not None  # open 8:00 to 16:00 in 30-minute slots: 16 a day
    opens = datetime(2026, 11, 24, 8, 0, tzinfo=NOW.tzinfo)
    booked = {opens + timedelta(minutes=30 * i): site.capacity for i in range(16)}
    state = EMPTY.but(receipt=RECEIPT, biometrics=BiometricsAnswers(site="nyc", cause="travel"))
    f = _facts(
        flow.BIO_SLOT,
        Answer("bio:day", ("20261124",)),
        state=state,
        loaded=Loaded(biometrics_booked=booked),
    )
    r, decision = _decide(_step(flow.BIO_SLOT).routes, f)
    assert (r.trigger, decision.rule) == (None, BiometricsRule.DAY_FULL)
    days = [c.args for c in decision.says[0].choices if c.kind == "bio:day"]
    assert days and ("20261124",) not in days


def test_status_where_the_conversation_cannot_move_is_answered_in_place() -> None:
    record = CaseRecord("NBC2305511111", "N-400", "Interview Was Scheduled", date(2026, 11, 10))
    f = _facts(
        "tier1.intake",
        Answer("/status", ("NBC2305511111",), text="NBC2305511111"),
        loaded=Loaded(case=record),
    )
    r, decision = _decide(receipt_routes(anywhere=False), f)
    assert r.trigger is None and decision.rule == "status.interview"
    assert [c.kind for c in decision.says[0].choices] == ["nav:menu"]
    assert "November 10, 2026" in render(MESSAGES, decision.says[0])


@pytest.mark.parametrize(
    "typed, rule",
    [("EAC219000000", ReceiptRule.WRONG_LENGTH), ("EAC21900OO001", ReceiptRule.LETTERS_IN_DIGITS)],
)
def test_a_malformed_receipt_is_refused_with_the_rule_it_broke(typed: str, rule: str) -> None:
    f = _facts(flow.STATUS_ASK, Answer("text", text=typed))
    _r, decision = _decide(_step(flow.STATUS_ASK).routes, f)
    assert decision.reject and decision.rule == rule
    assert decision.says[0].key.startswith("receipt.refused.")


@pytest.mark.parametrize(
    "enum",
    [AutomatedRule, StatusRule, BiometricsRule, AppointmentRule, IdentifierRule, ReceiptRule],
)
def test_no_rule_id_is_a_message_key(enum: type) -> None:
    assert not {str(rule) for rule in enum} & MESSAGES.keys()


def test_no_status_group_rule_is_a_message_key() -> None:
    rules = {f"status.{group}" for group in POLICY.statuses.groups} | {"status.unknown_title"}
    assert not rules & MESSAGES.keys()
