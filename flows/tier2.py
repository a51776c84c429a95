"""Tier 2, declared as steps: booking, moving and cancelling an officer callback.

A referral from Tier 1 arrives in `tier2.slots` with a `CallbackDraft` (urgency, in-person
decision); the applicant picks a day among the business days that have room, then a time on
it (`tier2.times`, with Back to the days), gives a phone number (and a ZIP code when no case
on file names one), confirms, and gets a reference. When the time fills up at the check, or
the applicant asks for another, only a new time is asked: the number and ZIP are kept.
From the main menu, `callback` shows the booked callback, to move or cancel it (one whose
time has passed can only be cancelled). Which times may be offered is
`flows.callback_slots`; capacity is enforced by the booking write itself, so when two
applicants race for the last place the loser's turn is decided again and sees the slot full.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum

from flows.automated_status import receipt_in_place
from flows.callback_slots import CallbackOffer, callback_offer, is_offerable
from flows.callbacks import CallbackRecord, Tier2Rule, slot_code, slot_from_code, zip5
from flows.entry import MENU as MAIN_MENU
from flows.entry import MenuItem
from flows.facts import Facts
from flows.my_requests import MineRule, MyItem, allows, in_order, is_past, status_key
from flows.phone import parse_us_phone
from flows.receipts import check_receipt
from flows.state import CallbackDraft, ConversationState
from flows.steps import (
    FINISH,
    MENU,
    Answer,
    Choice,
    Command,
    DayName,
    Decision,
    Notice,
    Say,
    ShortDay,
    Shown,
    Step,
    Tier,
    choice,
    decide,
    refuse,
    route,
    say,
    shown,
    stay,
)
from flows.zip_codes import check_zip, refuse_zip

SLOTS = "tier2.slots"
TIMES = "tier2.times"
PHONE = "tier2.phone"
ZIP = "tier2.zip"
CONFIRM = "tier2.confirm"
BOOKED = "tier2.booked"
MINE = "tier2.mine"

# Choice kinds: "day:<YYYYmmdd>", "day:again", "slot:<YYYYmmddTHHMM>", "slot:days" (back to
# the days), "confirm:yes|other|phone", "mine:move:<ref>", "mine:cancel:<ref>".
DAY, LOOK_AGAIN, SLOT, DAYS = "day", "day:again", "slot", "slot:days"
CONFIRM_KIND, MOVE, CANCEL = "confirm", "mine:move", "mine:cancel"
DAY_CODE = "%Y%m%d"

# Loaders (bot/actions/tier2.py) and the case loader of Tier 1.
CALLBACK_COUNTS, SLOT_ROOM, MY_REQUESTS, PICKED_CALLBACK = (
    "callback_counts",
    "slot_room",
    "my_requests",
    "picked_callback",
)
CASE_ON_FILE = "case_on_file"


class Tier2Effect(StrEnum):
    BOOK = "tier2.book_callback"
    MOVE = "tier2.move_callback"
    CANCEL = "tier2.cancel_callback"


def _draft(f: Facts) -> CallbackDraft:
    return f.state.callback or CallbackDraft()


def _with_draft(f: Facts, **changes: object) -> ConversationState:
    return f.state.but(callback=_draft(f).but(**changes))


# ---- picking a day, then a time ------------------------------------------------------------------


def _offer(f: Facts) -> CallbackOffer:
    return callback_offer(f.now, _draft(f).urgent, f.loaded.slot_counts or {}, f.policy.callbacks)


def _show_days(f: Facts) -> Shown:
    draft = _draft(f)
    policy = f.policy.callbacks
    offer = _offer(f)
    if not offer.days:
        # Not a dead end: places free up when others move or cancel.
        return shown(
            say("tier2.slots.none", days=policy.regular_business_days),
            choices=[choice(LOOK_AGAIN, "tier2.slots.look_again"), MENU],
        )
    says = []
    if offer.late:
        # The urgent promise cannot be kept: said, with the walk-in guidance (once).
        says.append(say("tier2.slots.urgent_late", hours=policy.urgent_hours))
        if not draft.walk_in_said:
            says.append(say("tier2.slots.walk_in"))
    elif draft.urgent:
        says.append(say("tier2.slots.urgent_note", hours=policy.urgent_hours))
    says.append(say("tier2.slots.prompt"))
    buttons = [
        choice(
            DAY,
            "tier2.slots.day_label",
            room.day.strftime(DAY_CODE),
            day=ShortDay(room.day),
            first=room.first.time(),
        )
        for room in offer.days
    ]
    return Shown(tuple(says), (*buttons, MENU))


def _picked_day(f: Facts) -> date | None:
    if f.answer.kind != DAY:
        return None
    try:
        return datetime.strptime(f.answer.arg, DAY_CODE).date()
    except ValueError:
        return None


def _day_picked(f: Facts) -> Decision | None:
    day = _picked_day(f)
    if day is None or _offer(f).on(day) is None:
        return None
    return decide(Tier2Rule.DAY_PICKED, state=_with_draft(f, day=day))


def _day_full(f: Facts) -> Decision | None:
    """The day filled up (or its last time passed) since the days were shown."""
    day = _picked_day(f)
    if day is None:
        return None
    return decide(Tier2Rule.DAY_FULL, say("tier2.slots.day_full", day=DayName(day)), again=True)


def _look_again(f: Facts) -> Decision | None:
    if f.answer.kind != LOOK_AGAIN:
        return None
    return decide(Tier2Rule.LOOK_AGAIN, again=True)


SLOTS_STEP = Step(
    SLOTS,
    "The applicant picks a day for the callback: the business days that have room.",
    show=_show_days,
    needs=(CALLBACK_COUNTS,),
    kinds=(DAY, LOOK_AGAIN),
    routes=(
        stay(_look_again, "Nothing was free: the days are looked up again."),
        route("pick_day", TIMES, _day_picked, "A day with room was picked; its times are next."),
        stay(_day_full, "The day filled up since it was shown: the days with room again."),
    ),
)


def _show_times(f: Facts) -> Shown:
    day = _draft(f).day
    room = _offer(f).on(day) if day is not None else None
    back = choice(DAYS, "buttons.back")
    if day is None or room is None:
        return shown(say("tier2.times.none", day=DayName(day) if day else ""), choices=[back, MENU])
    buttons = [
        choice(SLOT, "tier2.times.label", slot_code(s.start), at=s.start.time()) for s in room.slots
    ]
    return shown(say("tier2.times.prompt", day=DayName(day)), choices=[*buttons, back, MENU])


def _back_to_days(f: Facts) -> Decision | None:
    if f.answer.kind != DAYS:
        return None
    return decide(Tier2Rule.OTHER_DAY, state=_with_draft(f, day=None))


def _picked_slot(f: Facts) -> datetime | None:
    if f.answer.kind != SLOT:
        return None
    return slot_from_code(f.answer.arg, f.now)


def _slot_passed(f: Facts) -> Decision | None:
    slot = _picked_slot(f)
    if slot is None or is_offerable(slot, f.now, f.policy.callbacks):
        return None
    return decide(Tier2Rule.SLOT_PASSED, say("tier2.slots.passed"), state=_with_draft(f, day=None))


def _needs_no_details(draft: CallbackDraft) -> bool:
    """A time for a booked callback being moved, or a new time after the slot filled or
    the applicant asked for another: the phone number (and ZIP code) are already known."""
    return bool(draft.moving) or (draft.phone is not None and draft.zip is not None)


def _picked(known: bool) -> Callable[[Facts], Decision | None]:
    def when(f: Facts) -> Decision | None:
        slot = _picked_slot(f)
        draft = _draft(f)
        if slot is None or _needs_no_details(draft) is not known:
            return None
        if draft.moving:
            rule = Tier2Rule.NEW_TIME_PICKED
        elif known:
            rule = Tier2Rule.DETAILS_KEPT
        else:
            rule = Tier2Rule.SLOT_PICKED
        return decide(rule, state=_with_draft(f, slot=slot))

    return when


TIMES_STEP = Step(
    TIMES,
    "The applicant picks a time on the chosen day (or goes back to the days).",
    show=_show_times,
    needs=(CALLBACK_COUNTS,),
    kinds=(SLOT, DAYS),
    routes=(
        route("back_to_days", SLOTS, _back_to_days, "Back from the times to the days."),
        route(
            "back_to_days",
            SLOTS,
            _slot_passed,
            "The time picked is no longer offered: the days with room are shown.",
        ),
        route(
            "ask_confirm",
            CONFIRM,
            _picked(known=True),
            "A new time when the phone number is known (a move, or another time).",
        ),
        route(
            "pick_slot", PHONE, _picked(known=False), "A time was picked; a phone number is next."
        ),
    ),
)


# ---- phone number and ZIP code -------------------------------------------------------------------


def _parse_phone(text: str, f: Facts) -> Answer | Decision:
    phone = parse_us_phone(text)
    if phone is None:
        return refuse(Tier2Rule.BAD_PHONE, "tier2.phone.invalid")
    return Answer("phone", value=phone.e164, text=text)


def _zip_on_file(f: Facts) -> str | None:
    """The ZIP code of the case on file, when a field office serves it (else it is asked)."""
    case = f.loaded.case_on_file
    zip_code = zip5(case.zip_code[:5]) if case is not None and case.zip_code else None
    return zip_code if f.policy.offices.for_zip(zip_code) is not None else None


def _phone_with_zip(f: Facts) -> Decision | None:
    if f.answer.kind != "phone":
        return None
    kept = _draft(f).zip  # given before: the applicant is changing the number only
    zip_code = kept or _zip_on_file(f)
    if zip_code is None:
        return None
    rule = Tier2Rule.ZIP_KEPT if kept else Tier2Rule.ZIP_ON_FILE
    return decide(rule, state=_with_draft(f, phone=f.answer.value, zip=zip_code))


def _phone_without_zip(f: Facts) -> Decision | None:
    if f.answer.kind != "phone":
        return None
    return decide(Tier2Rule.ZIP_ASKED, state=_with_draft(f, phone=f.answer.value))


PHONE_STEP = Step(
    PHONE,
    "The applicant gives the phone number the officer will call.",
    show=lambda f: shown(say("tier2.phone.prompt"), choices=[MENU]),
    parse=_parse_phone,
    needs=(CASE_ON_FILE,),
    routes=(
        route(
            "ask_confirm",
            CONFIRM,
            _phone_with_zip,
            "The ZIP code is known (given before, or from the case on file).",
        ),
        route("ask_zip", ZIP, _phone_without_zip, "No field office is known yet for this person."),
    ),
)


def _parse_zip(text: str, f: Facts) -> Answer | Decision:
    zip_code = zip5(text)
    if zip_code is not None:
        check = check_zip(zip_code)  # unknown, or outside the US: asked again
        if not check.ok:
            return refuse_zip(check)
        return Answer("zip", value=zip_code, text=text)
    receipt = check_receipt(text).receipt
    if receipt is not None:
        return Answer("receipt", value=receipt.value, text=text)
    return refuse(Tier2Rule.BAD_ZIP, "tier2.zip.invalid")


def _receipt_noted(f: Facts) -> Decision | None:
    """No case was known, and the applicant gives its receipt number here: it goes with the
    callback, so the officer has the case at hand; the ZIP code is still asked."""
    if f.answer.kind != "receipt":
        return None
    return decide(
        Tier2Rule.RECEIPT_NOTED,
        say("tier2.zip.receipt_noted", receipt=f.answer.value),
        state=f.state.but(receipt=f.answer.value),
        again=True,
    )


ZIP_STEP = Step(
    ZIP,
    "The applicant gives a ZIP code to find their field office.",
    show=lambda f: shown(say("tier2.zip.prompt"), choices=[MENU]),
    parse=_parse_zip,
    routes=(
        stay(_receipt_noted, "A receipt number is noted for the officer; the ZIP code is next."),
        route(
            "ask_confirm",
            CONFIRM,
            lambda f: (
                decide(Tier2Rule.ZIP_GIVEN, state=_with_draft(f, zip=f.answer.value))
                if f.answer.kind == "zip"
                else None
            ),
            "Everything needed for the callback is known.",
        ),
    ),
)


# ---- confirming and booking ----------------------------------------------------------------------


def _phone_shown(e164: str | None) -> str:
    phone = parse_us_phone(e164 or "")
    return phone.display if phone else (e164 or "")


def _show_confirm(f: Facts) -> Shown:
    draft = _draft(f)
    choices = [
        choice(CONFIRM_KIND, "tier2.confirm.yes", "yes"),
        choice(CONFIRM_KIND, "tier2.confirm.other", "other"),
    ]
    if not draft.moving:  # a move keeps the number it was booked with
        choices.append(choice(CONFIRM_KIND, "tier2.confirm.phone", "phone"))
    return shown(
        say("tier2.confirm.prompt", phone=_phone_shown(draft.phone), when=draft.slot),
        choices=choices,
    )


def _confirmed(f: Facts) -> bool:
    return f.answer.kind == CONFIRM_KIND and f.answer.arg == "yes"


def _other_time(f: Facts) -> Decision | None:
    """Another time: the phone number and ZIP code are kept, only the time is asked."""
    if f.answer.kind != CONFIRM_KIND or f.answer.arg != "other":
        return None
    return decide(
        Tier2Rule.OTHER_TIME, state=_with_draft(f, day=None)
    )  # the time stays until another is picked (Back)


def _other_phone(f: Facts) -> Decision | None:
    if f.answer.kind != CONFIRM_KIND or f.answer.arg != "phone" or _draft(f).moving:
        return None
    return decide(Tier2Rule.OTHER_PHONE)


def _slot_gone(f: Facts) -> Decision | None:
    if not _confirmed(f):
        return None
    draft = _draft(f)
    # The phone number and ZIP code stay in the draft: only a new time is asked.
    again = _with_draft(f, day=None, slot=None)
    if draft.slot is None or not is_offerable(
        draft.slot.astimezone(f.now.tzinfo), f.now, f.policy.callbacks
    ):
        return decide(Tier2Rule.SLOT_PASSED, say("tier2.slots.passed"), state=again)
    if (f.loaded.slot_booked or 0) >= f.policy.callbacks.capacity:
        return decide(Tier2Rule.SLOT_FULL, say("tier2.slots.full"), state=again)
    return None


def _book(moving: bool) -> Callable[[Facts], Decision | None]:
    def when(f: Facts) -> Decision | None:
        if not _confirmed(f) or bool(_draft(f).moving) is not moving:
            return None
        return decide(Tier2Rule.MOVED if moving else Tier2Rule.BOOKED)

    return when


CONFIRM_STEP = Step(
    CONFIRM,
    "The applicant confirms the time and number.",
    show=_show_confirm,
    kinds=(CONFIRM_KIND,),
    routes=(
        route("pick_other_slot", SLOTS, _other_time, "The applicant wants another time."),
        route("change_phone", PHONE, _other_phone, "The applicant wants another number called."),
        route(
            "pick_other_slot",
            SLOTS,
            _slot_gone,
            "The time is no longer free: other days and times are offered, details kept.",
            needs=(SLOT_ROOM,),
        ),
        route(
            "book",
            BOOKED,
            _book(moving=True),
            "The booked callback moved within capacity.",
            effect=Tier2Effect.MOVE,
        ),
        route(
            "book",
            BOOKED,
            _book(moving=False),
            "The callback was booked within capacity.",
            effect=Tier2Effect.BOOK,
        ),
    ),
)


def _show_booked(f: Facts) -> Shown:
    """The confirmation goes through the durable outbox: the console shows it in this turn,
    Telegram pushes it at once and retries until Telegram has accepted it."""
    draft = _draft(f)
    if draft.moving:
        key, kind = "tier2.booked.moved", "callback.moved"
    else:
        key = "tier2.booked.done_with_reminder" if draft.reminded else "tier2.booked.done"
        kind = "callback.confirmation"
    notice = Notice(
        kind,
        say(key, reference=draft.reference, phone=_phone_shown(draft.phone), when=draft.slot),
        (MENU, FINISH),
    )
    # Booked: the draft is done with.
    return Shown(state=f.state.but(callback=None), notices=(notice,))


BOOKED_STEP = Step(
    BOOKED,
    "The callback is booked; the applicant has a reference.",
    show=_show_booked,
)


# ---- my requests: see everything, move or cancel a callback ---------------------------------


def _about(f: Facts, item: MyItem) -> Say | str:
    """What an item is about, in words: the issue, the request type, the office, the site."""
    policy = f.policy
    if item.kind in ("callback", "service"):
        issue = policy.knowledge.issue(item.detail)
        return Say(issue.label) if issue is not None else Say("mine.about.other")
    if item.kind == "request":
        request_type = policy.requests.get(item.detail)
        return request_type.label if request_type is not None else item.detail
    if item.kind == "visit":
        office = policy.offices.by_id(item.detail)
        return office.name if office is not None else item.detail
    site = policy.biometrics.site(item.detail)
    return site.name if site is not None else item.detail


def _item_say(f: Facts, item: MyItem) -> Say:
    past = is_past(item, f.now)
    return say(
        f"mine.item.{item.kind}",
        past=Say("mine.past") if past else "",
        reference=item.reference,
        about=_about(f, item),
        when=item.at.astimezone(f.now.tzinfo) if item.at else "",
        created=item.created_at.astimezone(f.now.tzinfo).date(),
        phone=_phone_shown(item.phone),
        status=Say(status_key(item, f.now), {"status": item.status}),
    )


def my_requests(f: Facts) -> tuple[list[Say], list[Choice]]:
    """The listing of everything the applicant has, and the buttons of what it allows."""
    items = in_order(f.loaded.my_requests, f.now)
    says = [say("mine.heading"), *(_item_say(f, i) for i in items)]
    choices: list[Choice] = []
    for item in items:
        if "move" in allows(item, f.now):
            choices.append(choice(MOVE, "mine.move", item.reference, reference=item.reference))
        if "cancel" in allows(item, f.now):
            choices.append(choice(CANCEL, "mine.cancel", item.reference, reference=item.reference))
    return says, choices


def _show_mine(f: Facts) -> Shown:
    if not f.loaded.my_requests:
        return shown(say("mine.none"))
    says, choices = my_requests(f)
    return Shown(tuple(says), tuple(choices))


def _mine_here(f: Facts) -> Decision | None:
    """/mine on "My requests" itself: shown again, afresh."""
    return decide(MineRule.SHOWN, again=True) if f.current == MINE else None


def _mine_in_place(f: Facts) -> Decision:
    """/mine in the middle of something: the listing is said in place (the engine asks the
    step's question again after it); moving or cancelling is done from the main menu."""
    if not f.loaded.my_requests:
        return decide(MineRule.SHOWN_IN_PLACE, say("mine.none"))
    says, choices = my_requests(f)
    if choices:
        says.append(say("mine.change_from_menu"))
    return decide(MineRule.SHOWN_IN_PLACE, *says)


MINE_COMMAND = Command(
    "mine",
    (
        route(
            "callback",
            MINE,
            lambda f: decide(MineRule.SHOWN),
            "The applicant asked about their requests.",
            sources=(MAIN_MENU,),
        ),
        stay(_mine_here, "My requests, shown again."),
        stay(
            _mine_in_place,
            "My requests, said in the middle of something else.",
            needs=(MY_REQUESTS,),
        ),
    ),
    "Everything you have with us: callbacks, appointments, requests.",
)


def _in_hand(f: Facts) -> Decision | None:
    """An officer took it (or it was completed) since the buttons were shown."""
    if f.answer.kind not in (MOVE, CANCEL):
        return None
    picked = f.loaded.picked_callback
    if picked is not None and picked.status == "booked":
        return None
    return decide(
        Tier2Rule.IN_HAND,
        say("tier2.mine.in_hand", MENU, reference=f.answer.arg),
    )


def _is_past(callback: CallbackRecord, now: datetime) -> bool:
    return callback.slot_at <= now


def _past(f: Facts) -> Decision | None:
    """A "Move it" pressed after the callback's time has passed (the button was shown
    before): it can no longer be moved; what it allows now is shown."""
    picked = f.loaded.picked_callback
    if f.answer.kind != MOVE or picked is None or not _is_past(picked, f.now):
        return None
    return decide(
        Tier2Rule.CALLBACK_PAST,
        say("tier2.mine.move_past", reference=picked.reference),
        again=True,
    )


def _move(f: Facts) -> Decision | None:
    picked = f.loaded.picked_callback
    if f.answer.kind != MOVE or picked is None:
        return None
    draft = CallbackDraft(moving=picked.reference, urgent=picked.urgent, phone=picked.phone)
    return decide(Tier2Rule.MOVE_ASKED, state=f.state.but(callback=draft))


def _cancel(f: Facts) -> Decision | None:
    picked = f.loaded.picked_callback
    if f.answer.kind != CANCEL or picked is None:
        return None
    return decide(
        Tier2Rule.CALLBACK_CANCELLED, say("tier2.mine.cancelled", reference=picked.reference)
    )


MINE_STEP = Step(
    MINE,
    "The applicant looks at everything they have: callbacks (to move or cancel), appointment"
    " requests, field-office appointments, service requests, biometrics bookings.",
    show=_show_mine,
    ask=_show_mine,  # asked again: the whole listing, with its buttons
    needs=(MY_REQUESTS,),
    kinds=(MOVE, CANCEL),
    routes=(
        stay(
            _in_hand,
            "With an officer already: it can no longer be moved or cancelled.",
            needs=(PICKED_CALLBACK,),
        ),
        stay(_past, "The callback's time has passed: it can no longer be moved."),
        route("move_callback", SLOTS, _move, "The applicant wants another time."),
        route(
            "menu",
            MAIN_MENU,
            _cancel,
            "The applicant cancelled their callback.",
            effect=Tier2Effect.CANCEL,
        ),
    ),
)


TIER = Tier(
    name="tier2",
    steps=(SLOTS_STEP, TIMES_STEP, PHONE_STEP, ZIP_STEP, CONFIRM_STEP, BOOKED_STEP, MINE_STEP),
    intercepts=(receipt_in_place(),),
    intercept_prefix="tier2.",
    commands=(MINE_COMMAND,),
    menu=(
        MenuItem(
            "callback", MINE, "menu.item_callback", "The applicant asked about their requests."
        ),
    ),
)
