"""The officers' desk: the queue of open callbacks and in-person requests, taking one, and
recording the outcome of the call.

A contract used by the staff CLI, the Telegram staff commands and trainer scenarios. It
works outside any conversation turn: each change is one atomic `Database.commit` that also
queues the notice telling the applicant (the outbox), so the applicant is told exactly
when the change is kept. Optimistic guards (status and attempt count in the `WHERE`) make a
change made meanwhile by someone else a `Conflict`, and the desk decides again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.engine.services import Services
from bot.model import ConversationKey, Reply
from bot.storage import outbox
from bot.storage.database import Conflict, Write
from bot.storage.timefmt import from_db, to_db
from bot.tiers import store
from bot.tiers.config import tier_config
from bot.tiers.policy import callback_policy
from flows.callback_slots import candidate_slots
from flows.field_appointment import FieldOffice, appointment_slot
from flows.phone import parse_us_phone
from flows.privacy import mask_personal_data

OUTCOMES = ("resolved", "appointment", "no-answer")
OPEN_REQUEST = ("pending_review", "in_review")
_RETRIES = 5  # decisions made again after a concurrent change, before giving up


class DeskError(Exception):
    """Something staff can act on (unknown reference, already taken...); str() says what."""


@dataclass(frozen=True)
class QueueItem:
    reference: str
    kind: str  # "callback" | "appointment_request"
    category: str
    urgent: bool
    due_at: datetime | None
    status: str
    summary: str


@dataclass(frozen=True)
class Completion:
    reference: str
    outcome: str
    summary: str


@dataclass(frozen=True)
class _Inquiry:
    """One open item as loaded, whichever table it lives in."""

    kind: str
    row: Any
    key: ConversationKey
    category: str
    taken_by: str | None

    @property
    def reference(self) -> str:
        return str(self.row["reference"])


class StaffDesk:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.db = services.db
        self.messages = services.messages
        self.settings = services.settings
        self.config = tier_config(services)

    def _t(self, key: str, **params: Any) -> str:
        return self.messages.text(key, **params)

    # ---- the queue -----------------------------------------------------------------------------

    async def queue(self, now: datetime) -> list[QueueItem]:
        """Open items, those due soonest first; requests without a time come last, oldest
        first."""
        callbacks = await self.db.fetchall(
            "SELECT * FROM callbacks WHERE status IN ('booked', 'taken') ORDER BY slot_at"
        )
        requests = await self.db.fetchall(
            "SELECT * FROM appointment_requests WHERE status IN ('pending_review', 'in_review')"
            " ORDER BY created_at"
        )
        items = [self._callback_item(r) for r in callbacks]
        items += [self._request_item(r) for r in requests]
        far = datetime.max.replace(tzinfo=now.tzinfo)
        return sorted(items, key=lambda i: (i.due_at is None, i.due_at or far))

    async def references_for(self, key: ConversationKey) -> list[str]:
        """Open references of one conversation, newest first."""
        rows = await self.db.fetchall(
            "SELECT reference, created_at FROM callbacks WHERE channel = ? AND user_id = ?"
            " AND status IN ('booked', 'taken')"
            " UNION ALL SELECT reference, created_at FROM appointment_requests"
            " WHERE channel = ? AND user_id = ? AND status IN ('pending_review', 'in_review')"
            " ORDER BY created_at DESC, reference DESC",
            (key.channel, key.user_id, key.channel, key.user_id),
        )
        return [r["reference"] for r in rows]

    def _callback_item(self, row: Any) -> QueueItem:
        justified = row["inperson_justified"]
        inperson = (
            "tier2.staff.summary.not_asked"
            if justified is None
            else "tier2.staff.summary.justified"
            if justified
            else "tier2.staff.summary.not_justified"
        )
        phone = parse_us_phone(row["phone"])
        office = self.config.offices.for_zip(row["zip_code"])
        summary = self._t(
            "tier2.staff.summary.callback",
            category=row["inperson_category"] or row["issue"],
            urgency=self._t("tier2.staff.summary." + ("urgent" if row["urgent"] else "regular")),
            urgency_rule=row["urgency_rule"],
            inperson=self._t(inperson),
            inperson_rule=row["inperson_rule"] or "-",
            phone=phone.masked if phone else "-",
            office=office.name,
        )
        return QueueItem(
            row["reference"],
            "callback",
            row["inperson_category"] or row["issue"],
            bool(row["urgent"]),
            from_db(row["slot_at"]).astimezone(self.settings.tz),
            row["status"],
            summary,
        )

    def _request_item(self, row: Any) -> QueueItem:
        category = self.config.policy.category_for_request_type(row["request_type"])
        rule = next(r for r in self.config.policy.rules if r.category == category)
        summary = self._t(
            "tier2.staff.summary.request",
            request_type=row["request_type"],
            identifier=mask_personal_data(row["identifier"]),
        )
        return QueueItem(
            row["reference"],
            "appointment_request",
            category,
            rule.justified,
            None,
            row["status"],
            summary,
        )

    # ---- taking an item ------------------------------------------------------------------------

    async def take(self, reference: str, staff_id: str, now: datetime) -> QueueItem:
        for _ in range(_RETRIES):
            inquiry = await self._open_inquiry(reference, staff_id)
            table = "callbacks" if inquiry.kind == "callback" else "appointment_requests"
            status = "taken" if inquiry.kind == "callback" else "in_review"
            writes = [
                Write(
                    f"UPDATE {table} SET status = ?, updated_at = ? WHERE reference = ?"
                    " AND status = ?",
                    (status, to_db(now), reference, inquiry.row["status"]),
                    expect_rows=1,
                )
            ]
            if inquiry.kind == "callback":
                writes.append(
                    Write(
                        "UPDATE callbacks SET taken_by = ? WHERE reference = ?",
                        (staff_id, reference),
                    )
                )
            writes.append(self._attempt(reference, now, "taken", staff_id, None))
            try:
                await self.db.commit(writes)
            except Conflict:
                continue
            taken = await self._open_inquiry(reference, staff_id)
            return (
                self._callback_item(taken.row)
                if taken.kind == "callback"
                else self._request_item(taken.row)
            )
        raise DeskError(self._t("error.busy"))

    async def _open_inquiry(self, reference: str, staff_id: str) -> _Inquiry:
        reference = reference.strip().upper()
        row = await self.db.fetchone("SELECT * FROM callbacks WHERE reference = ?", (reference,))
        if row is not None:
            inquiry = _Inquiry(
                "callback",
                row,
                ConversationKey(row["channel"], row["user_id"]),
                row["inperson_category"] or "other",
                row["taken_by"],
            )
            open_statuses: tuple[str, ...] = store.ACTIVE
        else:
            row = await self.db.fetchone(
                "SELECT * FROM appointment_requests WHERE reference = ? COLLATE NOCASE",
                (reference,),
            )
            if row is None:
                raise DeskError(self._t("tier2.staff.error.unknown_reference", reference=reference))
            taker = await self.db.fetchone(
                "SELECT staff_id FROM inquiry_attempts WHERE reference = ? AND outcome = 'taken'"
                " ORDER BY id DESC LIMIT 1",
                (row["reference"],),
            )
            inquiry = _Inquiry(
                "appointment_request",
                row,
                ConversationKey(row["channel"], row["user_id"]),
                self.config.policy.category_for_request_type(row["request_type"]),
                taker["staff_id"] if taker and row["status"] == "in_review" else None,
            )
            open_statuses = OPEN_REQUEST
        if inquiry.row["status"] not in open_statuses:
            raise DeskError(
                self._t(
                    "tier2.staff.error.not_open",
                    reference=inquiry.reference,
                    status=inquiry.row["status"],
                )
            )
        if inquiry.taken_by and inquiry.taken_by != staff_id:
            raise DeskError(
                self._t(
                    "tier2.staff.error.taken_by",
                    reference=inquiry.reference,
                    staff=inquiry.taken_by,
                )
            )
        return inquiry

    # ---- recording the outcome -----------------------------------------------------------------

    async def complete(
        self, reference: str, outcome: str, note: str | None, staff_id: str, now: datetime
    ) -> Completion:
        if outcome not in OUTCOMES:
            raise DeskError(self._t("tier2.staff.error.bad_outcome", outcome=outcome))
        now = now.astimezone(self.settings.tz)
        for _ in range(_RETRIES):
            inquiry = await self._open_inquiry(reference, staff_id)
            if outcome == "resolved":
                writes, completion = self._resolved(inquiry, note, staff_id, now)
            elif outcome == "appointment":
                writes, completion = await self._appointment(inquiry, note, staff_id, now)
            else:
                writes, completion = await self._no_answer(inquiry, note, staff_id, now)
            try:
                await self.db.commit(writes)
            except Conflict:
                continue  # someone changed it, or the office slot filled: decide again
            return completion
        raise DeskError(self._t("error.busy"))

    def _attempt(
        self, reference: str, now: datetime, outcome: str, staff_id: str, note: str | None
    ) -> Write:
        return Write(
            "INSERT INTO inquiry_attempts (reference, at, outcome, staff_id, note)"
            " VALUES (?, ?, ?, ?, ?)",
            (reference, to_db(now), outcome, staff_id, note),
        )

    def _close(self, inquiry: _Inquiry, status: str, now: datetime) -> list[Write]:
        """Guarded status change: fails (Conflict) when the item changed since it was read."""
        if inquiry.kind == "callback":
            return [
                Write(
                    "UPDATE callbacks SET status = ?, updated_at = ? WHERE reference = ?"
                    " AND status = ? AND attempts = ?",
                    (
                        status,
                        to_db(now),
                        inquiry.reference,
                        inquiry.row["status"],
                        inquiry.row["attempts"],
                    ),
                    expect_rows=1,
                ),
                store.drop_reminder(inquiry.reference),
            ]
        request_status = {"appointment": "scheduled"}.get(status, status)
        return [
            Write(
                "UPDATE appointment_requests SET status = ?, updated_at = ?"
                " WHERE reference = ? AND status = ?",
                (request_status, to_db(now), inquiry.reference, inquiry.row["status"]),
                expect_rows=1,
            )
        ]

    def _notice(self, inquiry: _Inquiry, kind: str, text: str, now: datetime) -> Write:
        return outbox.enqueue(inquiry.key, kind, Reply(text), now=now)

    def _resolved(
        self, inquiry: _Inquiry, note: str | None, staff_id: str, now: datetime
    ) -> tuple[list[Write], Completion]:
        ref = inquiry.reference
        text = (
            self._t("tier2.notice.resolved_note", reference=ref, note=note)
            if note
            else self._t("tier2.notice.resolved", reference=ref)
        )
        writes = [
            *self._close(inquiry, "resolved", now),
            self._attempt(ref, now, "resolved", staff_id, note),
            self._notice(inquiry, "callback.outcome", text, now),
        ]
        return writes, Completion(
            ref, "resolved", self._t("tier2.staff.done.resolved", reference=ref)
        )

    async def _appointment(
        self, inquiry: _Inquiry, note: str | None, staff_id: str, now: datetime
    ) -> tuple[list[Write], Completion]:
        ref = inquiry.reference
        office = await self._office_for(inquiry)
        lead = self.settings.tier2.appointment_lead_business_days
        booked = await self._office_bookings(office, now)
        slot = appointment_slot(now, office, lead, booked)
        if slot is None:
            raise DeskError(self._t("tier2.staff.error.no_capacity", office=office.name))
        when = store.format_when(self.messages, slot)
        text = self._t(
            "tier2.notice.appointment",
            reference=ref,
            office=office.name,
            address=office.address,
            when=when,
            bring=self._t(f"tier2.bring.{inquiry.category}"),
            common=self._t("tier2.bring.common"),
        )
        writes = [
            Write(
                "INSERT INTO field_appointments (reference, source_reference, office_id, at,"
                " category, channel, user_id, booked_by, created_at)"
                " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM"
                " field_appointments WHERE office_id = ? AND at = ?) < ?",
                (
                    store.new_reference("FA"),
                    ref,
                    office.id,
                    to_db(slot),
                    inquiry.category,
                    inquiry.key.channel,
                    inquiry.key.user_id,
                    staff_id,
                    to_db(now),
                    office.id,
                    to_db(slot),
                    office.capacity,
                ),
                expect_rows=1,
            ),
            *self._close(inquiry, "appointment", now),
            self._attempt(ref, now, "appointment", staff_id, note),
            self._notice(inquiry, "callback.outcome", text, now),
        ]
        return writes, Completion(
            ref,
            "appointment",
            self._t("tier2.staff.done.appointment", reference=ref, office=office.name, when=when),
        )

    async def _office_for(self, inquiry: _Inquiry) -> FieldOffice:
        zip_code = inquiry.row["zip_code"] if inquiry.kind == "callback" else None
        if zip_code is None:
            receipt = (
                inquiry.row["receipt"]
                if inquiry.kind == "callback"
                else "".join(c for c in inquiry.row["identifier"] if c.isalnum()).upper()
            )
            case = (
                await self.db.fetchone(
                    "SELECT zip_code FROM cases WHERE receipt_number = ?", (receipt,)
                )
                if receipt
                else None
            )
            zip_code = case["zip_code"] if case else None
        return self.config.offices.for_zip(zip_code)

    async def _office_bookings(self, office: FieldOffice, now: datetime) -> dict[datetime, int]:
        rows = await self.db.fetchall(
            "SELECT at, COUNT(*) AS n FROM field_appointments WHERE office_id = ? AND at >= ?"
            " GROUP BY at",
            (office.id, to_db(now)),
        )
        return {from_db(r["at"]).astimezone(self.settings.tz): r["n"] for r in rows}

    async def _no_answer(
        self, inquiry: _Inquiry, note: str | None, staff_id: str, now: datetime
    ) -> tuple[list[Write], Completion]:
        ref = inquiry.reference
        if inquiry.kind == "callback":
            attempts = int(inquiry.row["attempts"]) + 1
        else:
            row = await self.db.fetchone(
                "SELECT COUNT(*) AS n FROM inquiry_attempts WHERE reference = ?"
                " AND outcome = 'no-answer'",
                (ref,),
            )
            attempts = (row["n"] if row else 0) + 1
        attempt = self._attempt(ref, now, "no-answer", staff_id, note)
        if attempts >= self.settings.tier2.max_attempts:
            writes = [
                *self._close(inquiry, "closed", now),
                attempt,
                self._notice(
                    inquiry, "callback.outcome", self._t("tier2.notice.closed", reference=ref), now
                ),
            ]
            return writes, Completion(
                ref, "no-answer", self._t("tier2.staff.done.closed", reference=ref)
            )
        if inquiry.kind != "callback":
            writes = [
                Write(
                    "UPDATE appointment_requests SET status = 'pending_review',"
                    " updated_at = ? WHERE reference = ? AND status = ?",
                    (to_db(now), ref, inquiry.row["status"]),
                    expect_rows=1,
                ),
                attempt,
                self._notice(
                    inquiry,
                    "callback.outcome",
                    self._t("tier2.notice.retry_unscheduled", reference=ref),
                    now,
                ),
            ]
            return writes, Completion(
                ref, "no-answer", self._t("tier2.staff.done.retry", reference=ref, when="-")
            )
        retry = await self._retry_slot(inquiry, now)
        if retry is None:
            raise DeskError(self._t("tier2.slots.none"))
        phone = parse_us_phone(inquiry.row["phone"])
        shown_phone = phone.display if phone else inquiry.row["phone"]
        when = store.format_when(self.messages, retry)
        policy = callback_policy(self.settings)
        writes = [
            store.move_write(ref, retry, policy.capacity, now, attempts=attempts),
            store.drop_reminder(ref),
            attempt,
            self._notice(
                inquiry,
                "callback.outcome",
                self._t("tier2.notice.retry", reference=ref, when=when),
                now,
            ),
        ]
        reminder = store.reminder_write(
            self.messages,
            inquiry.key,
            ref,
            retry,
            shown_phone,
            now,
            self.settings.tier2.reminder_business_days,
        )
        if reminder is not None:
            writes.append(reminder)
        return writes, Completion(
            ref, "no-answer", self._t("tier2.staff.done.retry", reference=ref, when=when)
        )

    async def _retry_slot(self, inquiry: _Inquiry, now: datetime) -> datetime | None:
        """The second attempt: the first slot with room from the next business day on, at
        or after the time of day of the first call when that day has one."""
        policy = callback_policy(self.settings)
        first_call = from_db(inquiry.row["slot_at"]).astimezone(self.settings.tz)
        candidates = [
            s
            for s in candidate_slots(now, bool(inquiry.row["urgent"]), policy)
            if s.date() > now.date()
        ]
        if not candidates:
            # An urgent horizon can end before the next business day: fall back to regular.
            candidates = [s for s in candidate_slots(now, False, policy) if s.date() > now.date()]
        if not candidates:
            return None
        counts = await store.booked_counts(
            self.db, candidates[0], candidates[-1] + timedelta(minutes=1)
        )
        free = [s for s in candidates if counts.get(s, 0) < policy.capacity]
        if not free:
            return None
        same_day = [s for s in free if s.date() == free[0].date() and s.time() >= first_call.time()]
        return same_day[0] if same_day else free[0]
