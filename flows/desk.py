"""The staff desk's rules, pure: which outcomes fit an item, when an item is due (its SLA),
how urgent an in-person request is, the field-office visit an officer may choose, and what
the applicant is asked to bring.

The desk itself (`bot.staff.desk`) reads and writes through the storage ports and says
things through the catalogue; what it decides is decided here, so a trainer or a test can
call these functions directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import StrEnum

from msgspec import Struct

from flows.business_days import business_days_after, is_business_day
from flows.callback_slots import CallbackPolicy, horizon
from flows.field_appointment import FieldOffice, office_slots
from flows.inperson_decision import CASE_STATUS, InPersonRule
from flows.triage import Urgency, UrgencyRule, qualified


class ItemKind(StrEnum):
    """What sits in the staff queue."""

    CALLBACK = "callback"  # a Tier 2 officer callback booked by the applicant
    APPOINTMENT_REQUEST = "appointment_request"  # the automated tier's 2023-style form
    SERVICE_REQUEST = "service_request"  # opened by Tier 1 (SR + ten digits)


class Outcome(StrEnum):
    RESOLVED = "resolved"  # settled by phone (or, for a service request, answered)
    APPOINTMENT = "appointment"  # a field-office visit is booked
    BIOMETRICS = "biometrics"  # the Contact Center moves the ASC appointment
    REFUSED = "refused"  # the request is refused, with the reason
    NO_ANSWER = "no-answer"  # nobody answered: a second attempt, or the inquiry closes


OUTCOMES: tuple[str, ...] = tuple(Outcome)

# The Tier 1 issue a biometrics appointment that cannot be moved online goes up as.
BIOMETRICS_CATEGORY = "biometrics_not_online"
_BIOMETRICS_ESCALATION = "biometrics."  # the automated tier's not-online rule ids


def fitting_outcomes(
    kind: str, category: str, escalation_reason: str | None = None
) -> tuple[Outcome, ...]:
    """The outcomes that fit an item, in the order staff are offered them.

    A service request is answered in writing: it has no phone call to miss and no visit to
    book. A case-status question never justifies a visit. Only a callback about a
    biometrics appointment (the issue, or an escalation from the automated tier's
    not-online rules) can have its Application Support Center appointment moved."""
    if kind == ItemKind.SERVICE_REQUEST:
        return (Outcome.RESOLVED, Outcome.REFUSED)
    out = [Outcome.RESOLVED]
    if category != CASE_STATUS:
        out.append(Outcome.APPOINTMENT)
    biometrics = category == BIOMETRICS_CATEGORY or (escalation_reason or "").startswith(
        _BIOMETRICS_ESCALATION
    )
    if kind == ItemKind.CALLBACK and biometrics:
        out.append(Outcome.BIOMETRICS)
    out += [Outcome.REFUSED, Outcome.NO_ANSWER]
    return tuple(out)


# ---- service levels ---------------------------------------------------------------------


def sla_due(created_at: datetime, urgent: bool, policy: CallbackPolicy) -> datetime:
    """When an inquiry opened at `created_at` must be handled: within the urgent window
    (72 hours) when urgent, else by the close of the regular window's last business day
    (30 business days), federal holidays excluded. The same horizon callbacks are offered
    within."""
    return horizon(created_at, urgent, policy)


def is_overdue(due_at: datetime, now: datetime) -> bool:
    return due_at < now


class RequestUrgencyRule(StrEnum):
    URGENT_CATEGORY = "urgency.request"  # .<in-person rule id>: an urgent category


def request_urgency(rule: InPersonRule) -> Urgency:
    """An in-person request is urgent when its category justifies a visit by itself (proof
    of status, emergency advance parole, an Immigration Judge grant ...); one that needs an
    emergency to be shown ("Other") or never justifies a visit is regular."""
    if rule.justified and not rule.needs_emergency:
        return Urgency(True, qualified(RequestUrgencyRule.URGENT_CATEGORY, rule.id))
    return Urgency(False, UrgencyRule.REGULAR)


def is_emergency(urgency_rule: str, rule: InPersonRule | None) -> bool:
    """Triaged as an emergency, or a category that is one by its nature."""
    return urgency_rule == UrgencyRule.EMERGENCY or (rule is not None and rule.emergency)


# ---- the field-office visit an officer chooses -------------------------------------------


class VisitRule(StrEnum):
    CHOSEN = "visit.chosen"
    PASSED = "visit.passed"
    NOT_BUSINESS_DAY = "visit.not_business_day"
    OUTSIDE_HOURS = "visit.outside_hours"
    EARLIER_NEEDS_EMERGENCY = "visit.earlier_needs_emergency"
    TOO_FAR = "visit.too_far"
    FULL = "visit.full"


class VisitChoice(Struct, frozen=True):
    slot: datetime | None  # None: refused, `rule` says why
    rule: VisitRule


def choose_visit(
    wanted: date | datetime,
    *,
    now: datetime,
    office: FieldOffice,
    lead_business_days: int,
    emergency: bool,
    booked: Mapping[datetime, int],
    search_business_days: int = 40,
) -> VisitChoice:
    """The visit an officer asked for: a day (its first free slot) or a day and time.

    It must be a business day within the office's hours and capacity, still ahead, and no
    later than `search_business_days` business days away. A day before the usual one (the
    `lead_business_days`-th business day after the call) is for an emergency only."""
    day = wanted.date() if isinstance(wanted, datetime) else wanted
    if day < now.date():
        return VisitChoice(None, VisitRule.PASSED)
    if not is_business_day(day):
        return VisitChoice(None, VisitRule.NOT_BUSINESS_DAY)
    if day > business_days_after(now.date(), search_business_days):
        return VisitChoice(None, VisitRule.TOO_FAR)
    usual = business_days_after(now.date(), lead_business_days)
    if day < usual and not emergency:
        return VisitChoice(None, VisitRule.EARLIER_NEEDS_EMERGENCY)
    slots = office_slots(day, office)  # on the office's own clock
    if isinstance(wanted, datetime):
        at = wanted if wanted.tzinfo else wanted.replace(tzinfo=office.tz)
        if at not in slots:
            return VisitChoice(None, VisitRule.OUTSIDE_HOURS)
        if at <= now:
            return VisitChoice(None, VisitRule.PASSED)
        if booked.get(at, 0) >= office.capacity:
            return VisitChoice(None, VisitRule.FULL)
        return VisitChoice(at, VisitRule.CHOSEN)
    free = [s for s in slots if s > now and booked.get(s, 0) < office.capacity]
    if not free:
        ahead = [s for s in slots if s > now]
        return VisitChoice(None, VisitRule.FULL if ahead else VisitRule.PASSED)
    return VisitChoice(free[0], VisitRule.CHOSEN)


# ---- what to bring --------------------------------------------------------------------------


def bring_keys(
    category: str, *, emergency: bool, category_is_emergency: bool, has: Callable[[str], bool]
) -> list[str]:
    """Message keys of what the applicant brings to the visit, besides what every visit
    needs and what the officer adds: the category's own list (`tier2.bring.<category>`, or
    the general one), and proof of the emergency only for an emergency whose category does
    not already ask for it."""
    own = f"tier2.bring.{category}"
    keys = [own if has(own) else "tier2.bring.general"]
    if emergency and not category_is_emergency:
        keys.append("tier2.bring.emergency")
    return keys
