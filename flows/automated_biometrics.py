"""Biometrics rescheduling (2023 rules), as steps: the receipt, the decision, the good
cause, a free slot at the same or another Application Support Center, booked within its
capacity.

The rules themselves are `flows.biometrics` (`decide_reschedule`, `free_days`); here they
are asked when the receipt is given and asked again, on fresh data, when a slot is pressed
(time has passed, or another channel moved the appointment meanwhile). The applicant picks
a day with free times, then a time on it (Back returns to the days). A slot that filled up
since it was offered is said so, with the day's other free times offered instead.
"""

from __future__ import annotations

from datetime import date, datetime

from flows.automated_common import (
    BIO_ASK,
    BIO_BOOKED,
    BIO_REASON,
    BIO_SITE,
    BIO_SLOT,
    BIO_TIME,
    DIDNT_HELP,
    DIDNT_HELP_ROUTE,
    WAY_OUT,
    bullets,
    refuse_receipt,
    typed_unless_person,
)
from flows.automated_status import CASE, StatusRule
from flows.biometrics import (
    BiometricsAppointment,
    BiometricsDay,
    BiometricsRule,
    SupportCenter,
    decide_reschedule,
    federal_closures,
    free_days,
    has_room,
    parse_day_code,
    parse_slot_code,
)
from flows.case_records import CaseRecord
from flows.entry import TIER1_INTAKE
from flows.facts import Facts
from flows.receipts import check_receipt
from flows.state import BiometricsAnswers
from flows.steps import MENU as MENU_BUTTON
from flows.steps import (
    Choice,
    DayName,
    Decision,
    Guard,
    Route,
    Say,
    ShortDay,
    Shown,
    Step,
    choice,
    decide,
    labelled,
    route,
    say,
    shown,
    stay,
)

CAUSE, NO_CAUSE = "bio:cause", "bio:cause:none"
DAY, SLOT, DAYS = "bio:day", "bio:slot", "bio:days"  # a day, a time on it, back to the days
SITES, SITE = "bio:sites", "bio:site"
BOOKINGS = "biometrics_bookings"  # the facts loaded for slots: `Loaded.biometrics_booked`
BOOK = "book_biometrics"  # the effect that books the chosen slot

# The refusal said, by the rule that keeps the appointment off the automated tier.
REFUSALS: dict[BiometricsRule, str] = {
    BiometricsRule.EXCLUDED_FORM: "bio.refused.excluded_form",
    BiometricsRule.DATE_PASSED: "bio.refused.date_passed",
    BiometricsRule.TOO_SOON: "bio.refused.too_soon",
    BiometricsRule.RESCHEDULED_TWICE: "bio.refused.rescheduled_twice",
}

# Why each refusal goes to a person, in plain words (the route's doc: diagrams, traces).
NOT_ONLINE: dict[BiometricsRule, str] = {
    BiometricsRule.EXCLUDED_FORM: "Form excluded from online rescheduling (adoption forms).",
    BiometricsRule.DATE_PASSED: "The biometrics appointment date has passed.",
    BiometricsRule.TOO_SOON: "The biometrics appointment is sooner than the minimum notice.",
    BiometricsRule.RESCHEDULED_TWICE: "The appointment was already rescheduled the most times"
    " allowed online.",
}


# ---- what is decided about the case ------------------------------------------------------------


def _appointment(record: CaseRecord) -> BiometricsAppointment | None:
    if record.biometrics_at is None:
        return None
    return BiometricsAppointment(
        record.form_type, record.biometrics_at, record.biometrics_reschedules
    )


def _case_problem(f: Facts) -> Decision | None:
    """The case cannot be rescheduled for a reason that is not a rule: the source is down,
    there is no such case, or it has no biometrics appointment."""
    if f.loaded.case_unavailable:
        return decide(StatusRule.SOURCE_UNAVAILABLE, say("status.unavailable", *WAY_OUT))
    record = f.loaded.case
    if record is None:
        receipt = f.state.receipt or ""
        return decide(StatusRule.NOT_FOUND, say("status.not_found", *WAY_OUT, receipt=receipt))
    if record.biometrics_at is None:
        return decide(
            BiometricsRule.NO_APPOINTMENT,
            say("bio.no_appointment", *WAY_OUT, receipt=record.receipt_number),
        )
    return None


def _typed_case_problem(f: Facts) -> Decision | None:
    check = check_receipt(f.answer.text)
    if check.receipt is None:
        return refuse_receipt(check)
    return _case_problem(f.but(state=f.state.but(receipt=check.receipt.value)))


def _not_online(rule: BiometricsRule) -> Guard:
    """Hand over to Tier 1 when `rule` is the one that keeps the appointment off line."""

    def when(f: Facts) -> Decision | None:
        record = f.loaded.case
        appointment = _appointment(record) if record is not None else None
        if record is None or appointment is None:
            return None
        rules = f.policy.biometrics
        if decide_reschedule(appointment, f.now, rules).rule != rule:
            return None
        refusal = say(
            REFUSALS[rule],
            form=record.form_type,
            when=appointment.at,
            count=record.biometrics_reschedules,
            hours=rules.min_notice_hours,
            limit=rules.max_online_reschedules,
        )
        state = f.state.but(receipt=record.receipt_number, escalation_reason=str(rule))
        return decide(rule, refusal, state=state)

    return when


def _not_online_routes(*, at_booking: bool) -> tuple[Route, ...]:
    guard = _when_slot if at_booking else (lambda g: g)
    return tuple(
        route("escalate", TIER1_INTAKE, guard(_not_online(rule)), doc, needs=(CASE,))
        for rule, doc in NOT_ONLINE.items()
    )


def _eligible(f: Facts) -> Decision | None:
    record = f.loaded.case
    appointment = _appointment(record) if record is not None else None
    if record is None or appointment is None:
        return None
    rules = f.policy.biometrics
    if not decide_reschedule(appointment, f.now, rules).allowed:
        return None
    site = rules.site(record.biometrics_site) or rules.sites[0]
    return decide(
        BiometricsRule.ELIGIBLE,
        say("bio.allowed", when=appointment.at, site=site.name),
        state=f.state.but(
            receipt=record.receipt_number, biometrics=BiometricsAnswers(site=site.id)
        ),
    )


# ---- the good cause -----------------------------------------------------------------------------


def _causes(f: Facts) -> list[Choice]:
    causes = f.policy.biometrics.good_causes
    return [labelled(CAUSE, c.label, c.id) for c in causes] + [
        choice(NO_CAUSE, "bio.buttons.no_cause")
    ]


def _no_cause(f: Facts) -> Decision | None:
    if not f.answer.pressed(NO_CAUSE):
        return None
    return decide(BiometricsRule.NO_GOOD_CAUSE, say("bio.no_cause", *_causes(f), *WAY_OUT))


def _cause(f: Facts) -> Decision | None:
    cause = f.policy.biometrics.cause(f.answer.arg) if f.answer.pressed(CAUSE) else None
    if cause is None:
        return None
    biometrics = f.state.biometrics.but(cause=cause.id)
    return decide(BiometricsRule.GOOD_CAUSE, state=f.state.but(biometrics=biometrics))


# ---- slots -----------------------------------------------------------------------------------


def bookings_site(f: Facts) -> SupportCenter:
    """The support center whose bookings a turn needs: the one of a pressed slot, else the
    one the applicant is looking at."""
    rules = f.policy.biometrics
    if f.answer.pressed(SLOT) and f.answer.args:
        site = rules.site(f.answer.args[0])
        if site is not None:
            return site
    return rules.site(f.state.biometrics.site) or rules.sites[0]


def _slot(f: Facts) -> tuple[SupportCenter, datetime] | None:
    """The site and time of the pressed slot button, or None."""
    if not f.answer.pressed(SLOT) or len(f.answer.args) != 2:
        return None
    site = f.policy.biometrics.site(f.answer.args[0])
    at = parse_slot_code(f.answer.args[1], f.now.tzinfo)
    if site is None or at is None or f.state.receipt is None:
        return None
    return site, at


def chosen_slot(f: Facts) -> tuple[SupportCenter, datetime]:
    """The slot a booking route was taken for (its effect books it)."""
    slot = _slot(f)
    if slot is None:
        raise ValueError("no slot was pressed")
    return slot


def _when_slot(guard: Guard) -> Guard:
    """`guard`, asked only when a slot button was pressed (the booking's checks)."""
    return lambda f: guard(f) if _slot(f) is not None else None


def _days(f: Facts) -> tuple[SupportCenter, list[BiometricsDay]]:
    site = bookings_site(f)
    return site, free_days(
        site, f.now, f.loaded.biometrics_booked or {}, f.policy.biometrics, federal_closures()
    )


def offer_days(f: Facts, intro: str) -> Say:
    """The days with free times at the chosen site (each with its first free time), and
    the other sites."""
    rules = f.policy.biometrics
    site, days = _days(f)
    buttons = [
        choice(DAY, "bio.buttons.day", d.code, day=ShortDay(d.day), first=d.first.time())
        for d in days
    ]
    if len(rules.sites) > 1:
        buttons.append(choice(SITES, "bio.buttons.other_site"))
    if days:
        return say(intro, *buttons, MENU_BUTTON, site=site.name, address=site.address)
    return say("bio.no_slots", *buttons, *WAY_OUT, site=site.name)


def _picked_day(f: Facts) -> date | None:
    return parse_day_code(f.answer.arg) if f.answer.pressed(DAY) else None


def _day_chosen(f: Facts) -> Decision | None:
    day = _picked_day(f)
    _site, days = _days(f)
    if day is None or all(d.day != day for d in days):
        return None
    biometrics = f.state.biometrics.but(day=day)
    return decide(BiometricsRule.DAY_CHOSEN, state=f.state.but(biometrics=biometrics))


def _day_full(f: Facts) -> Decision | None:
    """The day filled up since the days were shown: the days with room again."""
    day = _picked_day(f)
    if day is None:
        return None
    return decide(BiometricsRule.DAY_FULL, offer_days(f, "bio.day_full"))


def _show_times(f: Facts) -> Shown:
    site, days = _days(f)
    wanted = f.state.biometrics.day
    room = next((d for d in days if d.day == wanted), None)
    back = choice(DAYS, "buttons.back")
    if wanted is None or room is None:
        return shown(
            say(
                "bio.no_times",
                back,
                MENU_BUTTON,
                site=site.name,
                day=DayName(wanted or f.now.date()),
            )
        )
    buttons = [
        choice(SLOT, "bio.buttons.time", site.id, s.code, at=s.at.time()) for s in room.slots
    ]
    return shown(
        say(
            "bio.choose_time",
            *buttons,
            back,
            MENU_BUTTON,
            site=site.name,
            address=site.address,
            day=DayName(room.day),
        )
    )


def _back_to_days(f: Facts) -> Decision | None:
    if not f.answer.pressed(DAYS):
        return None
    biometrics = f.state.biometrics.but(day=None)
    return decide(BiometricsRule.OTHER_DAY, state=f.state.but(biometrics=biometrics))


def _other_site(f: Facts) -> Decision | None:
    return decide(BiometricsRule.OTHER_SITE) if f.answer.pressed(SITES) else None


def _slot_gone(f: Facts) -> Decision | None:
    """Taken by someone else since it was offered: said, and the day's other free times
    shown again (or, when there are none, the way back to the days)."""
    slot = _slot(f)
    if slot is None:
        return None
    site, at = slot
    if has_room(site, (f.loaded.biometrics_booked or {}).get(at, 0)):
        return None
    return decide(BiometricsRule.SLOT_GONE, say("bio.slot_gone"), again=True)


def _booked(f: Facts) -> Decision | None:
    slot = _slot(f)
    if slot is None or f.loaded.case is None:
        return None
    site, at = slot
    rules = f.policy.biometrics
    return decide(
        BiometricsRule.BOOKED,
        say(
            "bio.booked",
            MENU_BUTTON,
            when=at,
            site=site.name,
            address=site.address,
            bring=bullets(rules.what_to_bring),
        ),
        state=f.state.but(biometrics=f.state.biometrics.but(site=site.id, day=None)),
    )


def _site_chosen(f: Facts) -> Decision | None:
    site = f.policy.biometrics.site(f.answer.arg) if f.answer.pressed(SITE) else None
    if site is None:
        return None
    biometrics = f.state.biometrics.but(site=site.id, day=None)
    return decide(BiometricsRule.SITE_CHOSEN, state=f.state.but(biometrics=biometrics))


def _sites(f: Facts) -> list[Choice]:
    return [labelled(SITE, s.name, s.id) for s in f.policy.biometrics.sites]


STEPS = (
    Step(
        BIO_ASK,
        "Biometrics rescheduling: waiting for the receipt number.",
        show=lambda f: shown(say("bio.ask_receipt", MENU_BUTTON)),
        parse=typed_unless_person,
        routes=(
            DIDNT_HELP_ROUTE,
            stay(
                _typed_case_problem,
                "A receipt that cannot be read, a case not found or without a biometrics"
                " appointment: said, nothing moves.",
                needs=(CASE,),
            ),
            *_not_online_routes(at_booking=False),
            route(
                "bio_allowed",
                BIO_REASON,
                _eligible,
                "The 2023 rules allow rescheduling online.",
                needs=(CASE,),
            ),
        ),
        kinds=(DIDNT_HELP,),
    ),
    Step(
        BIO_REASON,
        "Biometrics rescheduling allowed: asking for the good cause.",
        show=lambda f: shown(say("bio.ask_cause", *_causes(f))),
        routes=(
            DIDNT_HELP_ROUTE,
            stay(_no_cause, "Without a good cause the appointment stays as it is."),
            route("bio_cause", BIO_SLOT, _cause, "A good cause for rescheduling was given."),
        ),
        kinds=(DIDNT_HELP, CAUSE, NO_CAUSE),
    ),
    Step(
        BIO_SLOT,
        "Biometrics rescheduling: choosing a day with free times.",
        show=lambda f: shown(offer_days(f, "bio.choose_day")),
        needs=(BOOKINGS,),
        routes=(
            DIDNT_HELP_ROUTE,
            route(
                "bio_other_site",
                BIO_SITE,
                _other_site,
                "The applicant wants another Application Support Center.",
            ),
            route("bio_day", BIO_TIME, _day_chosen, "A day with free times was chosen."),
            stay(_day_full, "The day filled up since it was shown: the days with room again."),
        ),
        kinds=(DIDNT_HELP, DAY, SITES),
    ),
    Step(
        BIO_TIME,
        "Biometrics rescheduling: choosing a free time on the chosen day.",
        show=_show_times,
        needs=(BOOKINGS,),
        routes=(
            DIDNT_HELP_ROUTE,
            route("bio_days", BIO_SLOT, _back_to_days, "Back from the times to the days."),
            stay(
                _when_slot(_case_problem),
                "The case cannot be read again when the slot is pressed.",
                needs=(CASE,),
            ),
            *_not_online_routes(at_booking=True),
            stay(_slot_gone, "The slot filled up since it was offered: the day's other times."),
            route(
                "bio_booked",
                BIO_BOOKED,
                _booked,
                "A free slot was booked within its capacity.",
                needs=(CASE,),
                effect=BOOK,
            ),
        ),
        kinds=(DIDNT_HELP, SLOT, DAYS),
    ),
    Step(
        BIO_SITE,
        "Biometrics rescheduling: choosing another support center.",
        show=lambda f: shown(say("bio.choose_site", *_sites(f), MENU_BUTTON)),
        routes=(
            DIDNT_HELP_ROUTE,
            route("bio_site", BIO_SLOT, _site_chosen, "A support center was chosen."),
        ),
        kinds=(DIDNT_HELP, SITE),
    ),
    Step(
        BIO_BOOKED,
        "The biometrics appointment was moved; confirmation shown.",
        ask=shown(say("reask.next", *WAY_OUT)),
        routes=(DIDNT_HELP_ROUTE,),
        kinds=(DIDNT_HELP,),
    ),
)
