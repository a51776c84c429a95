"""The officers' desk: the queue of open callbacks and in-person requests, taking one, and
recording the outcome of the call.

A contract used by the staff CLI, the Telegram staff commands, trainer scenarios and the
simulated officer. It works outside any conversation turn, through the storage ports only:
each change is one atomic commit of the ports' writes that also queues the notice telling
the applicant (the outbox), so the applicant is told exactly when the change is kept. The
writes carry their preconditions (status, attempt count, capacity), so a change made
meanwhile by someone else is a `Conflict`, and the desk decides again on fresh data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from bot.model import ConversationKey, Reply
from bot.staff.lines import StaffLines
from bot.storage.callbacks import reminder_kind
from bot.storage.database import Conflict, Write
from bot.storage.ports import Ports
from bot.storage.references import new_reference
from bot.storage.requests import OPEN as OPEN_REQUEST
from bot.storage.requests import AppointmentRequest
from flows.callbacks import CallbackRecord, reminder_due, retry_candidates, retry_slot
from flows.facts import Policy
from flows.field_appointment import FieldOffice, appointment_slot, office_time
from flows.phone import parse_us_phone
from flows.privacy import mask_personal_data

if TYPE_CHECKING:
    from bot.engine.services import Services

OUTCOMES = ("resolved", "appointment", "no-answer")
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
    """One open item as loaded: a callback or an appointment request."""

    callback: CallbackRecord | None
    request: AppointmentRequest | None
    key: ConversationKey
    category: str
    taken_by: str | None

    @property
    def reference(self) -> str:
        item = self.callback or self.request
        assert item is not None
        return item.reference

    @property
    def status(self) -> str:
        item = self.callback or self.request
        assert item is not None
        return item.status


class StaffDesk:
    def __init__(self, ports: Ports, policy: Policy, lines: StaffLines, tz: tzinfo) -> None:
        self.ports = ports
        self.policy = policy
        self.lines = lines
        self.tz = tz

    @classmethod
    def of(cls, services: Services) -> StaffDesk:
        """The desk over an engine's ports, policy and catalogue."""
        return cls(
            services.ports, services.policy, StaffLines(services.messages), services.settings.tz
        )

    def _t(self, key: str, **params: Any) -> str:
        return self.lines.t(key, **params)

    # ---- the queue -----------------------------------------------------------------------------

    async def queue(self, now: datetime) -> list[QueueItem]:
        """Open items, those due soonest first; requests without a time come last, oldest
        first."""
        items = [self._callback_item(c) for c in await self.ports.callbacks.queue()]
        items += [self._request_item(r) for r in await self.ports.requests.open_requests()]
        far = datetime.max.replace(tzinfo=now.tzinfo)
        return sorted(items, key=lambda i: (i.due_at is None, i.due_at or far))

    async def references_for(self, key: ConversationKey) -> list[str]:
        """Open references of one conversation, newest first."""
        found: list[tuple[datetime, str]] = [
            (c.created_at or c.slot_at, c.reference)
            for c in await self.ports.callbacks.open_of(key)
        ]
        found += [(r.created_at, r.reference) for r in await self.ports.requests.open_of(key)]
        return [ref for _, ref in sorted(found, reverse=True)]

    def _callback_item(self, c: CallbackRecord) -> QueueItem:
        inperson = (
            "tier2.staff.summary.not_asked"
            if c.inperson_justified is None
            else "tier2.staff.summary.justified"
            if c.inperson_justified
            else "tier2.staff.summary.not_justified"
        )
        phone = parse_us_phone(c.phone)
        summary = self._t(
            "tier2.staff.summary.callback",
            category=c.inperson_category or c.issue,
            urgency=self.lines.urgency(c.urgent),
            urgency_rule=c.urgency_rule,
            inperson=self._t(inperson),
            inperson_rule=c.inperson_rule or "-",
            phone=phone.masked if phone else "-",
            office=self._office_name(self.policy.offices.for_zip(c.zip_code)),
        )
        category = c.inperson_category or c.issue
        return QueueItem(c.reference, "callback", category, c.urgent, c.slot_at, c.status, summary)

    def _request_item(self, r: AppointmentRequest) -> QueueItem:
        category = self.policy.inperson.category_for_request_type(r.request_type)
        summary = self._t(
            "tier2.staff.summary.request",
            request_type=r.request_type,
            identifier=mask_personal_data(r.identifier),
        )
        justified = self.policy.inperson.rule_for(category).justified
        return QueueItem(
            r.reference, "appointment_request", category, justified, None, r.status, summary
        )

    # ---- taking an item ------------------------------------------------------------------------

    async def take(self, reference: str, staff_id: str, now: datetime) -> QueueItem:
        for _ in range(_RETRIES):
            inquiry = await self._open_inquiry(reference, staff_id)
            if inquiry.callback is not None:
                change = self.ports.callbacks.take(inquiry.callback, staff_id, now)
            else:
                assert inquiry.request is not None
                change = self.ports.requests.set_status(inquiry.request, "in_review", now)
            attempt = self.ports.staff_log.attempt(inquiry.reference, now, "taken", staff_id, None)
            try:
                await self.ports.db.commit([change, attempt])
            except Conflict:
                continue
            taken = await self._open_inquiry(inquiry.reference, staff_id)
            if taken.callback is not None:
                return self._callback_item(taken.callback)
            assert taken.request is not None
            return self._request_item(taken.request)
        raise DeskError(self._t("error.busy"))

    async def _open_inquiry(self, reference: str, staff_id: str) -> _Inquiry:
        reference = reference.strip().upper()
        callback = await self.ports.callbacks.get(reference)
        if callback is not None:
            inquiry = _Inquiry(
                callback,
                None,
                ConversationKey(callback.channel, callback.user_id),
                callback.inperson_category or "other",
                callback.taken_by,
            )
            is_open = callback.is_open
        else:
            request = await self.ports.requests.get(reference)
            if request is None:
                raise DeskError(self._t("tier2.staff.error.unknown_reference", reference=reference))
            taker = await self.ports.staff_log.last_taker(request.reference)
            inquiry = _Inquiry(
                None,
                request,
                request.key,
                self.policy.inperson.category_for_request_type(request.request_type),
                taker if request.status == "in_review" else None,
            )
            is_open = request.status in OPEN_REQUEST
        if not is_open:
            raise DeskError(
                self._t(
                    "tier2.staff.error.not_open",
                    reference=inquiry.reference,
                    status=inquiry.status,
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
        now = now.astimezone(self.tz)
        for _ in range(_RETRIES):
            inquiry = await self._open_inquiry(reference, staff_id)
            if outcome == "resolved":
                writes, completion = self._resolved(inquiry, note, staff_id, now)
            elif outcome == "appointment":
                writes, completion = await self._appointment(inquiry, note, staff_id, now)
            else:
                writes, completion = await self._no_answer(inquiry, note, staff_id, now)
            try:
                await self.ports.db.commit(writes)
            except Conflict:
                continue  # someone changed it, or the office slot filled: decide again
            return completion
        raise DeskError(self._t("error.busy"))

    def _close(self, inquiry: _Inquiry, status: str, now: datetime) -> list[Write]:
        """Guarded status change: fails (Conflict) when the item changed since it was read."""
        if inquiry.callback is not None:
            return [
                self.ports.callbacks.close(inquiry.callback, status, now),
                self.ports.callbacks.drop_reminder(inquiry.reference),
            ]
        assert inquiry.request is not None
        request_status = {"appointment": "scheduled"}.get(status, status)
        return [self.ports.requests.set_status(inquiry.request, request_status, now)]

    def _notice(self, inquiry: _Inquiry, text: str, now: datetime) -> Write:
        return self.ports.outbox.enqueue(inquiry.key, "callback.outcome", Reply(text), now=now)

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
            self.ports.staff_log.attempt(ref, now, "resolved", staff_id, note),
            self._notice(inquiry, text, now),
        ]
        done = self._t("tier2.staff.done.resolved", reference=ref)
        return writes, Completion(ref, "resolved", done)

    async def _appointment(
        self, inquiry: _Inquiry, note: str | None, staff_id: str, now: datetime
    ) -> tuple[list[Write], Completion]:
        ref = inquiry.reference
        office = await self._office_for(inquiry)
        if office is None:
            raise DeskError(self._t("field_office.staff.no_zip", reference=ref))
        booked = await self.ports.field_appointments.bookings(office.id, now)
        lead = self.policy.tier2.appointment_lead_business_days
        slot = appointment_slot(now, office, lead, booked)
        if slot is None:
            raise DeskError(self._t("tier2.staff.error.no_capacity", office=office.name))
        text = self._t(
            "tier2.notice.appointment",
            reference=ref,
            office=office.name,
            address=office.address,
            when=office_time(slot, office, self.tz),
            bring=self._t(f"tier2.bring.{inquiry.category}"),
            common=self._t("tier2.bring.common"),
        )
        writes = [
            self.ports.field_appointments.book(
                new_reference("FA"),
                ref,
                office.id,
                office.capacity,
                slot,
                inquiry.category,
                inquiry.key,
                staff_id,
                now,
            ),
            *self._close(inquiry, "appointment", now),
            self.ports.staff_log.attempt(ref, now, "appointment", staff_id, note),
            self._notice(inquiry, text, now),
        ]
        done = self._t(
            "tier2.staff.done.appointment",
            reference=ref,
            office=office.name,
            when=office_time(slot, office, self.tz),
        )
        return writes, Completion(ref, "appointment", done)

    def _office_name(self, office: FieldOffice | None) -> str:
        return office.name if office is not None else self._t("field_office.staff.none")

    async def _office_for(self, inquiry: _Inquiry) -> FieldOffice | None:
        """The office nearest to the ZIP code the applicant gave (or the case's), or None
        when no usable ZIP code is known: never a default office."""
        if inquiry.callback is not None:
            zip_code, receipt = inquiry.callback.zip_code, inquiry.callback.receipt
        else:
            assert inquiry.request is not None
            identifier = inquiry.request.identifier
            zip_code = inquiry.request.zip_code
            receipt = "".join(c for c in identifier if c.isalnum()).upper()
        if zip_code is None and receipt:
            case = await self.ports.cases.lookup(receipt)
            zip_code = case.zip_code if case else None
        return self.policy.offices.for_zip(zip_code)

    async def _no_answer(
        self, inquiry: _Inquiry, note: str | None, staff_id: str, now: datetime
    ) -> tuple[list[Write], Completion]:
        ref = inquiry.reference
        if inquiry.callback is not None:
            attempts = inquiry.callback.attempts + 1
        else:
            attempts = await self.ports.staff_log.no_answers(ref) + 1
        attempt = self.ports.staff_log.attempt(ref, now, "no-answer", staff_id, note)
        if attempts >= self.policy.tier2.max_attempts:
            writes = [
                *self._close(inquiry, "closed", now),
                attempt,
                self._notice(inquiry, self._t("tier2.notice.closed", reference=ref), now),
            ]
            done = self._t("tier2.staff.done.closed", reference=ref)
            return writes, Completion(ref, "no-answer", done)
        if inquiry.callback is None:
            assert inquiry.request is not None
            writes = [
                self.ports.requests.set_status(inquiry.request, "pending_review", now),
                attempt,
                self._notice(
                    inquiry, self._t("tier2.notice.retry_unscheduled", reference=ref), now
                ),
            ]
            done = self._t("tier2.staff.done.retry", reference=ref, when="-")
            return writes, Completion(ref, "no-answer", done)
        callback = inquiry.callback
        retry = await self._retry_slot(callback, now)
        if retry is None:
            raise DeskError(self._t("tier2.slots.none"))
        callbacks = self.ports.callbacks
        writes = [
            callbacks.move(ref, retry, self.policy.callbacks.capacity, now, attempts=attempts),
            callbacks.drop_reminder(ref),
            attempt,
            self._notice(inquiry, self._t("tier2.notice.retry", reference=ref, when=retry), now),
        ]
        due = reminder_due(retry, self.policy.tier2.reminder_business_days, now)
        if due is not None:
            phone = parse_us_phone(callback.phone)
            reminder = self._t(
                "tier2.notice.reminder",
                reference=ref,
                when=retry,
                phone=phone.display if phone else callback.phone,
            )
            writes.append(
                self.ports.outbox.enqueue(
                    inquiry.key, reminder_kind(ref), Reply(reminder), now=now, due_at=due
                )
            )
        done = self._t("tier2.staff.done.retry", reference=ref, when=retry)
        return writes, Completion(ref, "no-answer", done)

    async def _retry_slot(self, callback: CallbackRecord, now: datetime) -> datetime | None:
        """The second attempt: the first slot with room from the next business day on, at
        or after the time of day of the first call when that day has one."""
        policy = self.policy.callbacks
        candidates = retry_candidates(now, callback.urgent, policy)
        if not candidates:
            return None
        counts = await self.ports.callbacks.booked_counts(
            candidates[0], candidates[-1] + timedelta(minutes=1)
        )
        return retry_slot(candidates, counts, callback.slot_at, policy)
