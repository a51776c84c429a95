"""Biometrics rescheduling (2023 rules): the receipt, the decision, the good cause, a free
slot at the same or another Application Support Center, booked within its capacity."""

from __future__ import annotations

from datetime import datetime

from bot.dialogs.automated_common import (
    config,
    escalate,
    long_when,
    pressed_common,
    way_out,
)
from bot.dialogs.automated_status import find_case, reject_malformed
from bot.engine.dialogs import registry as dialogs
from bot.engine.turn import Turn
from bot.model import Button
from bot.storage.timefmt import to_db
from flows import automated as flow
from flows.biometrics import (
    BiometricsAppointment,
    BiometricsSlot,
    SupportCenter,
    decide_reschedule,
    federal_closures,
    free_slots,
    parse_slot_code,
)
from flows.receipts import check_receipt

CAUSE, NO_CAUSE = "bio:cause:", "bio:cause:none"
SLOT, LATER, SITES, SITE = "bio:slot:", "bio:later", "bio:sites", "bio:site:"
_closed = federal_closures()

# Plain reasons recorded with the escalation, by rule id.
NOT_ONLINE = {
    "biometrics.excluded_form": "Form excluded from online rescheduling (adoption forms).",
    "biometrics.date_passed": "The biometrics appointment date has passed.",
    "biometrics.less_than_12_hours": "The biometrics appointment is less than 12 hours away.",
    "biometrics.rescheduled_twice": "The appointment was already rescheduled twice or more.",
}


@dialogs.on_enter(flow.BIO_ASK)
async def ask_for_receipt(turn: Turn) -> None:
    turn.say("bio.ask_receipt", buttons=[turn.btn("buttons.menu", "nav:menu")])


@dialogs.on_input(flow.BIO_ASK)
async def typed_receipt(turn: Turn) -> bool:
    if turn.button is not None:
        return await pressed_common(turn)
    if config(turn).self_service.wants_person(turn.text or ""):
        return False
    check = check_receipt(turn.text or "")
    if check.receipt is None:
        reject_malformed(turn, check)
        return True
    record = await find_case(turn, check.receipt)
    if record is None:
        return True
    if record.biometrics_at is None:
        turn.say("bio.no_appointment", receipt=record.receipt_number, buttons=way_out(turn))
        return True
    rules = config(turn).biometrics
    appointment = BiometricsAppointment(
        record.form_type, record.biometrics_at, record.biometrics_reschedules
    )
    decision = decide_reschedule(appointment, turn.now, rules)
    turn.slots["receipt"] = record.receipt_number
    if not decision.allowed:
        turn.say(
            decision.rule,
            form=record.form_type,
            when=long_when(record.biometrics_at),
            count=record.biometrics_reschedules,
        )
        await escalate(turn, decision.rule, NOT_ONLINE[decision.rule])
        return True
    site = rules.site(record.biometrics_site) or rules.sites[0]
    turn.slots.update(bio_site=site.id, bio_after=None)
    turn.say("bio.allowed", when=long_when(record.biometrics_at), site=site.name)
    await turn.fire("bio_allowed", rule="biometrics.eligible: rescheduling allowed online.")
    return True


def _cause_buttons(turn: Turn) -> list[Button]:
    causes = config(turn).biometrics.good_causes
    return [Button(c.label, CAUSE + c.id) for c in causes] + [
        turn.btn("bio.buttons.no_cause", NO_CAUSE)
    ]


@dialogs.on_enter(flow.BIO_REASON)
async def ask_for_cause(turn: Turn) -> None:
    turn.say("bio.ask_cause", buttons=_cause_buttons(turn))


@dialogs.on_input(flow.BIO_REASON)
async def chose_cause(turn: Turn) -> bool:
    if turn.button == NO_CAUSE:
        turn.say("bio.no_cause", buttons=[*_cause_buttons(turn), *way_out(turn)])
        return True
    if turn.button and turn.button.startswith(CAUSE):
        cause = config(turn).biometrics.cause(turn.button[len(CAUSE) :])
        if cause is not None:
            turn.slots["bio_cause"] = cause.id
            await turn.fire("bio_cause", rule=f"Good cause given: {cause.id}.")
            return True
    return await pressed_common(turn)


async def _free_slots(
    turn: Turn,
    site: SupportCenter,
    after: datetime | None,
) -> list[BiometricsSlot]:
    rows = await turn.db.fetchall(
        "SELECT slot_at, COUNT(*) AS taken FROM biometrics_bookings"
        " WHERE site_id = ? AND slot_at >= ? GROUP BY slot_at",
        (site.id, to_db(turn.now)),
    )
    booked = {
        datetime.fromisoformat(r["slot_at"]).astimezone(turn.settings.tz): r["taken"] for r in rows
    }
    return free_slots(site, turn.now, booked, config(turn).biometrics, _closed, after=after)


async def offer_slots(turn: Turn, *, intro: str = "bio.choose_slot") -> None:
    """The next free slots at the chosen site, with paging and the other sites."""
    rules = config(turn).biometrics
    site = rules.site(turn.slots.get("bio_site")) or rules.sites[0]
    after = turn.slots.get("bio_after")
    slots = await _free_slots(
        turn, site, parse_slot_code(after, turn.settings.tz) if after else None
    )
    buttons = [Button(long_when(s.at), f"{SLOT}{site.id}:{s.code}") for s in slots]
    if len(slots) == rules.slots_per_page:
        turn.slots["bio_last"] = slots[-1].code
        buttons.append(turn.btn("buttons.more", LATER))
    if len(rules.sites) > 1:
        buttons.append(turn.btn("bio.buttons.other_site", SITES))
    buttons.append(turn.btn("buttons.menu", "nav:menu"))
    if slots:
        turn.say(intro, site=site.name, address=site.address, buttons=buttons)
    else:
        turn.say("bio.no_slots", site=site.name, buttons=[*buttons[:-1], *way_out(turn)])


@dialogs.on_enter(flow.BIO_SLOT)
async def show_slots(turn: Turn) -> None:
    await offer_slots(turn)


@dialogs.on_input(flow.BIO_SLOT)
async def chose_slot(turn: Turn) -> bool:
    data = turn.button or ""
    if data == LATER:
        turn.slots["bio_after"] = turn.slots.get("bio_last")
        await offer_slots(turn, intro="bio.later_slots")
        return True
    if data == SITES:
        await turn.fire("bio_other_site", rule="The applicant asked for another center.")
        return True
    if data.startswith(SLOT):
        site_id, _, code = data[len(SLOT) :].partition(":")
        return await _book(turn, site_id, code)
    return await pressed_common(turn)


async def _book(turn: Turn, site_id: str, code: str) -> bool:
    rules = config(turn).biometrics
    site = rules.site(site_id)
    at = parse_slot_code(code, turn.settings.tz)
    receipt = check_receipt(turn.slots.get("receipt", "")).receipt
    if site is None or at is None or receipt is None:
        return False
    record = await find_case(turn, receipt)
    if record is None or record.biometrics_at is None:
        return True
    # Decide again on fresh data: time has passed, or another channel moved it meanwhile.
    decision = decide_reschedule(
        BiometricsAppointment(
            record.form_type, record.biometrics_at, record.biometrics_reschedules
        ),
        turn.now,
        rules,
    )
    if not decision.allowed:
        turn.say(
            decision.rule,
            form=record.form_type,
            when=long_when(record.biometrics_at),
            count=record.biometrics_reschedules,
        )
        await escalate(turn, decision.rule, NOT_ONLINE[decision.rule])
        return True
    row = await turn.db.fetchone(
        "SELECT COUNT(*) AS taken FROM biometrics_bookings WHERE site_id = ? AND slot_at = ?",
        (site.id, to_db(at)),
    )
    if row is not None and row["taken"] >= site.capacity:
        turn.slots.update(bio_site=site.id, bio_after=None)
        await offer_slots(turn, intro="bio.slot_gone")
        return True
    # A new booking replaces the one an earlier reschedule made, freeing its place.
    turn.write("DELETE FROM biometrics_bookings WHERE receipt_number = ?", (receipt.value,))
    # Atomic capacity: the insert happens only while the slot has room, checked inside
    # the same transaction; a concurrent turn that filled it makes this one rerun.
    turn.write(
        "INSERT INTO biometrics_bookings (receipt_number, site_id, slot_at, good_cause,"
        " channel, user_id, created_at) SELECT ?, ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*)"
        " FROM biometrics_bookings WHERE site_id = ? AND slot_at = ?) < ?",
        (
            receipt.value,
            site.id,
            to_db(at),
            turn.slots.get("bio_cause", ""),
            turn.key.channel,
            turn.key.user_id,
            to_db(turn.now),
            site.id,
            to_db(at),
            site.capacity,
        ),
        expect_rows=1,
    )
    turn.write(
        "UPDATE cases SET biometrics_at = ?, biometrics_site = ?, biometrics_reschedules ="
        " biometrics_reschedules + 1, updated_at = ? WHERE receipt_number = ?"
        " AND biometrics_reschedules = ?",
        (to_db(at), site.id, to_db(turn.now), receipt.value, record.biometrics_reschedules),
        expect_rows=1,
    )
    bring = "\n".join(f"• {item}" for item in rules.what_to_bring)
    turn.say(
        "bio.booked",
        when=long_when(at),
        site=site.name,
        address=site.address,
        bring=bring,
        buttons=[turn.btn("buttons.menu", "nav:menu")],
    )
    await turn.fire("bio_booked", rule=f"Slot booked at {site.id} within capacity.")
    return True


@dialogs.on_enter(flow.BIO_SITE)
async def show_sites(turn: Turn) -> None:
    sites = config(turn).biometrics.sites
    turn.say(
        "bio.choose_site",
        buttons=[
            *(Button(s.name, SITE + s.id) for s in sites),
            turn.btn("buttons.menu", "nav:menu"),
        ],
    )


@dialogs.on_input(flow.BIO_SITE)
async def chose_site(turn: Turn) -> bool:
    data = turn.button or ""
    site = config(turn).biometrics.site(data[len(SITE) :]) if data.startswith(SITE) else None
    if site is None:
        return await pressed_common(turn)
    turn.slots.update(bio_site=site.id, bio_after=None)
    await turn.fire("bio_site", rule=f"Support center chosen: {site.id}.")
    return True


@dialogs.on_input(flow.BIO_BOOKED)
async def after_booking(turn: Turn) -> bool:
    return await pressed_common(turn)
