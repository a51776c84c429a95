"""Dialogs of Tier 2: booking, moving and cancelling an officer callback, and the simulated
officer of trainer mode (registered on import).

Which times may be offered is decided by `flows.callback_slots`; capacity is enforced by
the booking write itself (see `bot.tiers.store`), so two applicants racing for the last
place in a slot can never both get it: the loser's turn is rerun, sees the slot full, and
is offered other times.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from bot.dialogs.entry import finish_button
from bot.engine.dialogs import registry as dialogs
from bot.engine.services import Services
from bot.engine.turn import Turn
from bot.model import Button, Reply
from bot.storage.timefmt import from_db, to_db
from bot.tiers import store
from bot.tiers.policy import callback_policy
from flows import tier2
from flows.callback_slots import candidate_slots, is_offerable, offer
from flows.phone import parse_us_phone

log = logging.getLogger(__name__)

SLOT, MORE = "slot:", "slot:more"
CONFIRM_YES, CONFIRM_OTHER = "confirm:yes", "confirm:other"
MOVE, CANCEL = "mine:move:", "mine:cancel:"
SLOT_FORMAT = "%Y%m%dT%H%M"
_ZIP = re.compile(r"^(\d{5})(?:-\d{4})?$")


def _tier2(turn: Turn) -> dict:
    return turn.slots.setdefault("tier2", {})


def _menu(turn: Turn) -> Button:
    return turn.btn("buttons.menu", "nav:menu")


def _when(turn: Turn, at: datetime) -> str:
    return store.format_when(turn.services.messages, at)


# ---- picking a time ----------------------------------------------------------------------------


@dialogs.on_enter(tier2.SLOTS)
async def offer_callback_times(turn: Turn) -> None:
    await _say_times(turn)


async def _say_times(turn: Turn) -> None:
    t2 = _tier2(turn)
    policy = callback_policy(turn.settings)
    urgent = bool(t2.get("urgent"))
    candidates = candidate_slots(turn.now, urgent, policy)
    counts = await store.booked_counts(turn.db, candidates[0], candidates[-1]) if candidates else {}
    per_page = turn.settings.tier2.slots_per_page
    page = offer(candidates, counts, policy, page=t2.get("page", 0), per_page=per_page)
    if not page.slots and t2.get("page", 0) > 0:
        turn.say("tier2.slots.no_more")
        t2["page"] = 0
        page = offer(candidates, counts, policy, page=0, per_page=per_page)
    if not page.slots:
        turn.say("tier2.slots.none", buttons=[_menu(turn)])
        return
    buttons = [
        Button(
            store.format_short(turn.services.messages, s.start),
            SLOT + s.start.strftime(SLOT_FORMAT),
        )
        for s in page.slots
    ]
    if page.has_more:
        buttons.append(turn.btn("buttons.more", MORE))
    if urgent:
        turn.say("tier2.slots.urgent_note", hours=turn.settings.tier2.urgent_hours)
    turn.say("tier2.slots.prompt", buttons=[*buttons, _menu(turn)])


@dialogs.on_input(tier2.SLOTS)
async def picked_time(turn: Turn) -> bool:
    data = turn.button or ""
    t2 = _tier2(turn)
    if data == MORE:
        t2["page"] = t2.get("page", 0) + 1
        await _say_times(turn)
        return True
    if not data.startswith(SLOT):
        return False
    try:
        slot = datetime.strptime(data[len(SLOT) :], SLOT_FORMAT).replace(tzinfo=turn.now.tzinfo)
    except ValueError:
        return False
    if not is_offerable(slot, turn.now, bool(t2.get("urgent")), callback_policy(turn.settings)):
        t2["page"] = 0
        turn.say("tier2.slots.passed")
        await _say_times(turn)
        return True
    t2["slot"] = slot.isoformat()
    if t2.get("moving"):
        await turn.fire("ask_confirm", rule="The applicant picked a new time for a booked call.")
    else:
        await turn.fire("pick_slot", rule="The applicant picked a callback time.")
    return True


# ---- phone number and ZIP code -------------------------------------------------------------------


@dialogs.on_enter(tier2.PHONE)
async def ask_for_phone(turn: Turn) -> None:
    turn.say("tier2.phone.prompt", buttons=[_menu(turn)])


@dialogs.on_input(tier2.PHONE)
async def gave_phone(turn: Turn) -> bool:
    if turn.button is not None:
        return False
    phone = parse_us_phone(turn.text or "")
    if phone is None:
        turn.reject("tier2.phone.invalid")
        return True
    t2 = _tier2(turn)
    t2["phone"] = phone.e164
    zip_code = await _zip_on_file(turn)
    if zip_code:
        t2["zip"] = zip_code
        await turn.fire("ask_confirm", rule="The case on file gives the field office.")
    else:
        await turn.fire("ask_zip", rule="No case on file gives a ZIP code.")
    return True


async def _zip_on_file(turn: Turn) -> str | None:
    receipt = turn.slots.get("receipt")
    if not receipt:
        return None
    row = await turn.db.fetchone("SELECT zip_code FROM cases WHERE receipt_number = ?", (receipt,))
    zip_code = row["zip_code"] if row else None
    return zip_code[:5] if zip_code and _ZIP.match(zip_code[:5]) else None


@dialogs.on_enter(tier2.ZIP)
async def ask_for_zip(turn: Turn) -> None:
    turn.say("tier2.zip.prompt", buttons=[_menu(turn)])


@dialogs.on_input(tier2.ZIP)
async def gave_zip(turn: Turn) -> bool:
    if turn.button is not None:
        return False
    m = _ZIP.match((turn.text or "").strip())
    if m is None:
        turn.reject("tier2.zip.invalid")
        return True
    _tier2(turn)["zip"] = m.group(1)
    await turn.fire("ask_confirm", rule="The applicant gave a ZIP code.")
    return True


# ---- confirming and booking ----------------------------------------------------------------------


@dialogs.on_enter(tier2.CONFIRM)
async def ask_to_confirm(turn: Turn) -> None:
    t2 = _tier2(turn)
    phone = parse_us_phone(t2["phone"])
    turn.say(
        "tier2.confirm.prompt",
        phone=phone.display if phone else t2["phone"],
        when=_when(turn, datetime.fromisoformat(t2["slot"])),
        buttons=[
            turn.btn("tier2.confirm.yes", CONFIRM_YES),
            turn.btn("tier2.confirm.other", CONFIRM_OTHER),
        ],
    )


@dialogs.on_input(tier2.CONFIRM)
async def confirmed(turn: Turn) -> bool:
    t2 = _tier2(turn)
    if turn.button == CONFIRM_OTHER:
        t2["page"] = 0
        await turn.fire("pick_other_slot", rule="The applicant wants another time.")
        return True
    if turn.button != CONFIRM_YES:
        return False
    policy = callback_policy(turn.settings)
    slot = datetime.fromisoformat(t2["slot"]).astimezone(turn.now.tzinfo)
    t2["page"] = 0
    if not is_offerable(slot, turn.now, bool(t2.get("urgent")), policy):
        turn.say("tier2.slots.passed")
        await turn.fire("pick_other_slot", rule="tier2.slot_passed")
        return True
    if await store.count_at(turn.db, slot) >= policy.capacity:
        turn.say("tier2.slots.full")
        await turn.fire("pick_other_slot", rule="tier2.slot_full")
        return True
    reference = t2.get("moving") or store.new_reference("CB")
    if t2.get("moving"):
        turn.writes.append(store.move_write(reference, slot, policy.capacity, turn.now))
        turn.writes.append(store.drop_reminder(reference))
    else:
        turn.writes.append(
            store.book_write(
                {
                    "reference": reference,
                    "channel": turn.key.channel,
                    "user_id": turn.key.user_id,
                    "issue": t2.get("issue", "something_else"),
                    "urgent": int(bool(t2.get("urgent"))),
                    "urgency_rule": t2.get("urgency_rule", "urgency.regular"),
                    "inperson_category": t2.get("inperson_category"),
                    "inperson_justified": t2.get("inperson_justified"),
                    "inperson_rule": t2.get("inperson_rule"),
                    "phone": t2["phone"],
                    "zip_code": t2.get("zip"),
                    "receipt": turn.slots.get("receipt"),
                    "slot_at": to_db(slot),
                    "status": "booked",
                    "attempts": 0,
                    "created_at": to_db(turn.now),
                    "updated_at": to_db(turn.now),
                },
                policy.capacity,
            )
        )
    reminder = store.reminder_write(
        turn.services.messages,
        turn.key,
        reference,
        slot,
        _display_phone(t2["phone"]),
        turn.now,
        turn.settings.tier2.reminder_business_days,
    )
    if reminder is not None:
        turn.writes.append(reminder)
    t2["reminded"] = reminder is not None  # promise a reminder only when one is queued
    t2["reference"] = reference
    await turn.fire("book", rule="tier2.moved" if t2.get("moving") else "tier2.booked")
    return True


def _display_phone(e164: str) -> str:
    phone = parse_us_phone(e164)
    return phone.display if phone else e164


@dialogs.on_enter(tier2.BOOKED)
async def say_booked(turn: Turn) -> None:
    t2 = _tier2(turn)
    if t2.get("moving"):
        key, kind = "tier2.booked.moved", "callback.moved"
    else:
        key = "tier2.booked.done_with_reminder" if t2.get("reminded") else "tier2.booked.done"
        kind = "callback.confirmation"
    # The confirmation goes through the durable outbox: the console shows it in this turn,
    # Telegram pushes it at once and retries until Telegram has accepted it.
    turn.notify(
        Reply(
            turn.t(
                key,
                reference=t2["reference"],
                phone=_display_phone(t2["phone"]),
                when=_when(turn, datetime.fromisoformat(t2["slot"])),
            ),
            (_menu(turn), finish_button(turn)),
        ),
        kind=kind,
    )
    turn.slots.pop("tier2", None)  # booked: the draft is done with


# ---- my callback: see, move, cancel ------------------------------------------------------------


@dialogs.on_enter(tier2.MINE)
async def show_my_callback(turn: Turn) -> None:
    rows = await store.open_callbacks(turn.db, turn.key)
    if not rows:
        turn.say("tier2.mine.none", buttons=[_menu(turn), turn.btn("buttons.agent", "nav:agent")])
        return
    row = rows[0]
    if row["status"] != "booked":
        turn.say("tier2.mine.in_hand", reference=row["reference"], buttons=[_menu(turn)])
        return
    turn.say(
        "tier2.mine.show",
        reference=row["reference"],
        phone=_display_phone(row["phone"]),
        when=_when(turn, from_db(row["slot_at"]).astimezone(turn.now.tzinfo)),
        buttons=[
            turn.btn("tier2.mine.move", MOVE + row["reference"]),
            turn.btn("tier2.mine.cancel", CANCEL + row["reference"]),
            _menu(turn),
        ],
    )


@dialogs.on_input(tier2.MINE)
async def changed_my_callback(turn: Turn) -> bool:
    data = turn.button or ""
    if not data.startswith((MOVE, CANCEL)):
        return False
    reference = data.removeprefix(MOVE).removeprefix(CANCEL)
    row = await turn.db.fetchone(
        "SELECT * FROM callbacks WHERE reference = ? AND channel = ? AND user_id = ?",
        (reference, turn.key.channel, turn.key.user_id),
    )
    if row is None or row["status"] != "booked":
        # An officer took it (or it was completed) since the buttons were shown.
        turn.say("tier2.mine.in_hand", reference=reference, buttons=[_menu(turn)])
        return True
    if data.startswith(MOVE):
        turn.slots["tier2"] = {
            "moving": reference,
            "urgent": bool(row["urgent"]),
            "phone": row["phone"],
            "page": 0,
        }
        await turn.fire("move_callback", rule="The applicant asked to move their callback.")
        return True
    turn.write(
        "UPDATE callbacks SET status = 'cancelled', updated_at = ?"
        " WHERE reference = ? AND status = 'booked'",
        (to_db(turn.now), reference),
        expect_rows=1,
    )
    turn.writes.append(store.drop_reminder(reference))
    turn.say("tier2.mine.cancelled", reference=reference)
    await turn.fire("menu", rule="tier2.callback_cancelled")
    return True


# ---- trainer mode: the simulated officer --------------------------------------------------------


@dialogs.ticker
async def simulated_officer_calls(services: Services, now: datetime) -> None:
    """With `simulate_officer` on, complete every callback whose time has passed, by the same
    desk rules a staff member uses: a visit when it was judged justified, else by phone."""
    if not services.settings.tier2.simulate_officer:
        return
    from bot.staff.desk import DeskError, StaffDesk

    desk = StaffDesk(services)
    rows = await services.db.fetchall(
        "SELECT reference, inperson_justified FROM callbacks"
        " WHERE status IN ('booked', 'taken') AND slot_at <= ? ORDER BY slot_at",
        (to_db(now),),
    )
    for row in rows:
        outcome = "appointment" if row["inperson_justified"] else "resolved"
        try:
            await desk.complete(row["reference"], outcome, None, SIMULATED_OFFICER, now)
        except DeskError as exc:
            log.warning("simulated officer could not complete a callback: %s", exc)


SIMULATED_OFFICER = "simulated-officer"
