"""The officers' desk: the staff queue (Tier 2 callbacks, in-person appointment requests and
Tier 1 service requests), taking an item and seeing its full record, and recording what
came of it.

A contract used by the staff CLI, the Telegram staff commands, trainer scenarios and the
simulated officer. It works outside any conversation turn, through the storage ports only:
each change is one atomic commit of the ports' writes that also queues the notice telling
the applicant (the outbox), so the applicant is told exactly when the change is kept. The
writes carry their preconditions (status, officer, attempt count, capacity), so a change
made meanwhile by someone else is a `Conflict`, and the desk decides again on fresh data.

What is decided (which outcomes fit, when an item is due, the visit an officer may choose,
what to bring) is `flows.desk`; here it is read, written and said.

Privacy: the queue shows phone numbers and identifiers masked. The full record (phone,
receipt, the applicant's answers) is shown only to the officer holding the item, and each
time it is, a row goes to the audit table (`staff_views`), never to the log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from msgspec import Struct
from msgspec.structs import replace

from bot.messages import Catalogue
from bot.model import ConversationKey, Reply
from bot.staff.lines import StaffLines
from bot.storage.callbacks import reminder_kind
from bot.storage.cases import CaseLookupFailed
from bot.storage.database import Conflict, Write
from bot.storage.ports import Ports
from bot.storage.references import new_reference
from bot.storage.requests import OPEN as OPEN_REQUEST
from bot.storage.requests import AppointmentRequest
from bot.storage.service_requests import ServiceRequest
from bot.storage.staff_log import Attempt
from bot.text import text
from flows.automated_common import bullets
from flows.biometrics import federal_closures, free_days, slot_times
from flows.callbacks import CallbackRecord, reminder_due, retry_candidates, retry_slot
from flows.case_records import CaseRecord
from flows.desk import (
    OUTCOMES,
    ItemKind,
    Outcome,
    bring_keys,
    choose_visit,
    fitting_outcomes,
    is_emergency,
    is_overdue,
    request_urgency,
    sla_due,
)
from flows.facts import Policy
from flows.field_appointment import FieldOffice, appointment_slot, office_time
from flows.identifiers import check_identifier
from flows.inperson_decision import InPersonRule
from flows.phone import parse_us_phone
from flows.privacy import mask_personal_data
from flows.triage import RoleRule, decide_role

if TYPE_CHECKING:
    from bot.engine.services import Services

__all__ = ["OUTCOMES", "Completion", "DeskError", "ItemView", "QueueItem", "StaffDesk"]

_RETRIES = 5  # decisions made again after a concurrent change, before giving up

# Status an item is closed with, by kind and outcome. Callbacks keep the statuses their
# table allows (a refusal closes it; a biometrics move resolves it); the log says which.
_CALLBACK_STATUS = {
    "resolved": "resolved",
    "appointment": "appointment",
    "biometrics": "resolved",
    "refused": "closed",
    "closed": "closed",
}
_REQUEST_STATUS = {
    "resolved": "resolved",
    "appointment": "scheduled",
    "refused": "refused",
    "closed": "closed",
}


class DeskError(Exception):
    """Something staff can act on (unknown reference, already taken...); str() says what,
    in one line. Nothing was changed."""


class QueueItem(Struct, frozen=True):
    """One line of the queue: nothing personal in full (phone and identifiers masked)."""

    reference: str
    kind: str  # "callback" | "appointment_request" | "service_request"
    category: str
    urgent: bool
    due_at: datetime | None
    status: str
    summary: str
    overdue: bool = False
    taken_by: str | None = None


class ItemView(Struct, frozen=True):
    """The full record of an item, for the officer who holds it."""

    item: QueueItem
    phone: str | None  # in full, as it is dialled: (202) 555-0143
    receipt: str | None
    case: str | None  # the case's current status, or why it is not known
    role: str | None  # applicant | petitioner | representative_g28
    role_rule: str | None
    g28_on_file: bool | None  # None: no representative is involved, or not asked
    category_rule: str | None
    urgency_rule: str
    escalation_reason: str | None
    answers: tuple[tuple[str, str], ...]  # (what was asked, the applicant's answer)
    preferred_date: date | None
    office: str | None
    history: tuple[Attempt, ...]
    outcomes: tuple[str, ...]

    @property
    def reference(self) -> str:
        return self.item.reference

    @property
    def status(self) -> str:
        return self.item.status


class Completion(Struct, frozen=True):
    reference: str
    outcome: str
    summary: str


class _Inquiry(Struct, frozen=True):
    """One open item as loaded: a callback, an appointment request or a service request."""

    kind: ItemKind
    reference: str
    status: str
    key: ConversationKey
    category: str
    taken_by: str | None
    urgent: bool
    urgency_rule: str
    created_at: datetime
    callback: CallbackRecord | None = None
    request: AppointmentRequest | None = None
    service: ServiceRequest | None = None
    rule: InPersonRule | None = None

    @property
    def category_rule(self) -> str | None:
        if self.callback is not None:
            return self.callback.inperson_rule or self.callback.triage_rule
        if self.service is not None:
            return self.service.rule
        return self.rule.id if self.rule is not None else None

    @property
    def escalation_reason(self) -> str | None:
        return self.callback.escalation_reason if self.callback is not None else None


class StaffDesk:
    def __init__(self, ports: Ports, policy: Policy, lines: StaffLines, tz: tzinfo) -> None:
        self.ports = ports
        self.policy = policy
        self.lines = lines
        self.tz = tz
        # The catalogue a notice is being composed in (`_in_every_language`), else None.
        self._writing: Catalogue | None = None

    @classmethod
    def of(cls, services: Services) -> StaffDesk:
        """The desk over an engine's ports, policy and catalogue."""
        return cls(
            services.ports, services.policy, StaffLines(services.messages), services.settings.tz
        )

    def _t(self, key: str, **params: Any) -> str:
        if self._writing is None:
            return self.lines.t(key, **params)
        return text(self._writing, key, params)

    def _in_every_language(self, compose: Callable[[], str]) -> Reply:
        """A notice for an applicant, composed in every language: the outbox sends the one
        of the applicant's language when it goes out (bot/storage/outbox.py)."""
        messages = self.lines.messages
        base = compose()
        others = []
        for code in messages.languages:
            if code != messages.language:
                self._writing = messages.in_language(code)
                try:
                    others.append((code, Reply(compose())))
                finally:
                    self._writing = None
        return Reply(base, (), tuple(others))

    # ---- the queue -----------------------------------------------------------------------------

    async def queue(self, now: datetime) -> list[QueueItem]:
        """Every open item, the one due soonest (or overdue longest) first."""
        inquiries = [self._of_callback(c) for c in await self.ports.callbacks.queue()]
        inquiries += [self._of_request(r) for r in await self.ports.requests.open_requests()]
        inquiries += [self._of_service(s) for s in await self.ports.service_requests.open_items()]
        items = [self._item(i, now) for i in inquiries]
        far = datetime.max.replace(tzinfo=now.tzinfo)
        return sorted(items, key=lambda i: (i.due_at or far, i.reference))

    async def references_for(self, key: ConversationKey) -> list[str]:
        """Open references of one conversation, newest first."""
        found: list[tuple[datetime, str]] = [
            (c.created_at or c.slot_at, c.reference)
            for c in await self.ports.callbacks.open_of(key)
        ]
        found += [(r.created_at, r.reference) for r in await self.ports.requests.open_of(key)]
        found += [(s.created_at, s.number) for s in await self.ports.service_requests.open_of(key)]
        return [ref for _, ref in sorted(found, reverse=True)]

    def _due(self, inquiry: _Inquiry) -> datetime:
        if inquiry.callback is not None:
            return inquiry.callback.slot_at  # the time the applicant was promised
        return sla_due(inquiry.created_at, inquiry.urgent, self.policy.callbacks).astimezone(
            self.tz
        )

    def _item(self, inquiry: _Inquiry, now: datetime) -> QueueItem:
        due = self._due(inquiry)
        return QueueItem(
            inquiry.reference,
            inquiry.kind,
            inquiry.category,
            inquiry.urgent,
            due,
            inquiry.status,
            self._summary(inquiry),
            overdue=is_overdue(due, now),
            taken_by=inquiry.taken_by,
        )

    def _summary(self, inquiry: _Inquiry) -> str:
        """The queue's masked line about an item."""
        if inquiry.callback is not None:
            c = inquiry.callback
            inperson = (
                "tier2.staff.summary.not_asked"
                if c.inperson_justified is None
                else "tier2.staff.summary.justified"
                if c.inperson_justified
                else "tier2.staff.summary.not_justified"
            )
            phone = parse_us_phone(c.phone)
            return self._t(
                "tier2.staff.summary.callback",
                category=inquiry.category,
                urgency=self.lines.urgency(c.urgent),
                urgency_rule=c.urgency_rule,
                inperson=self._t(inperson),
                inperson_rule=c.inperson_rule or "-",
                phone=phone.masked if phone else "-",
                office=self._office_name(self._office(c.zip_code)),
            )
        if inquiry.request is not None:
            r = inquiry.request
            return self._t(
                "tier2.staff.summary.request",
                request_type=r.request_type,
                identifier=mask_personal_data(r.identifier),
            )
        assert inquiry.service is not None
        s = inquiry.service
        return self._t(
            "tier2.staff.summary.service",
            issue=s.issue,
            rule=s.rule,
            receipt=mask_personal_data(s.receipt) if s.receipt else "-",
        )

    # ---- loading an item -------------------------------------------------------------------

    def _of_callback(self, c: CallbackRecord) -> _Inquiry:
        category = c.inperson_category or c.issue
        return _Inquiry(
            ItemKind.CALLBACK,
            c.reference,
            c.status,
            ConversationKey(c.channel, c.user_id),
            category,
            c.taken_by if c.status == "taken" else None,
            c.urgent,
            c.urgency_rule,
            c.created_at or c.slot_at,
            callback=c,
            rule=self._rule(c.inperson_category),
        )

    def _of_request(self, r: AppointmentRequest) -> _Inquiry:
        category = self.policy.inperson.category_for_request_type(r.request_type)
        rule = self.policy.inperson.rule_for(category)
        urgency = request_urgency(rule)
        return _Inquiry(
            ItemKind.APPOINTMENT_REQUEST,
            r.reference,
            r.status,
            r.key,
            category,
            r.taken_by if r.status == "in_review" else None,
            urgency.urgent,
            urgency.rule,
            r.created_at.astimezone(self.tz),
            request=r,
            rule=rule,
        )

    def _of_service(self, s: ServiceRequest) -> _Inquiry:
        return _Inquiry(
            ItemKind.SERVICE_REQUEST,
            s.number,
            s.status,
            s.key,
            s.issue,
            s.taken_by if s.status == "taken" else None,
            s.urgent,
            s.urgency_rule,
            s.created_at,
            service=s,
        )

    def _rule(self, category: str | None) -> InPersonRule | None:
        if category is None or category not in self.policy.inperson.categories():
            return None
        return self.policy.inperson.rule_for(category)

    async def _find(self, reference: str) -> _Inquiry | None:
        reference = reference.strip().upper()
        callback = await self.ports.callbacks.get(reference)
        if callback is not None:
            return self._of_callback(callback)
        request = await self.ports.requests.get(reference)
        if request is not None:
            return self._of_request(request)
        service = await self.ports.service_requests.get(reference)
        return self._of_service(service) if service is not None else None

    async def _open_inquiry(self, reference: str, staff_id: str, *, held: bool = False) -> _Inquiry:
        """The open item `reference` (any case) that `staff_id` may work: not taken by
        someone else, and with `held`, taken by `staff_id`. Else a one-line `DeskError`."""
        inquiry = await self._find(reference)
        if inquiry is None:
            shown = reference.strip().upper()
            raise DeskError(self._t("tier2.staff.error.unknown_reference", reference=shown))
        is_open = (
            inquiry.callback.is_open
            if inquiry.callback is not None
            else inquiry.service.is_open
            if inquiry.service is not None
            else inquiry.status in OPEN_REQUEST
        )
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
        if held and inquiry.taken_by != staff_id:
            raise DeskError(self._t("tier2.staff.error.not_yours", reference=inquiry.reference))
        return inquiry

    # ---- taking an item and seeing its full record --------------------------------------------

    async def take(self, reference: str, staff_id: str, now: datetime) -> ItemView:
        """Take an item so no one else works it, and see its full record (audited)."""
        for _ in range(_RETRIES):
            inquiry = await self._open_inquiry(reference, staff_id)
            view = await self._view(inquiry, now, taken_by=staff_id)
            writes = [self._audit(view, staff_id, "take", now)]
            if inquiry.taken_by != staff_id:  # taking it again is only looking again
                writes += [
                    self._take_write(inquiry, staff_id, now),
                    self.ports.staff_log.attempt(inquiry.reference, now, "taken", staff_id, None),
                ]
            try:
                await self.ports.db.commit(writes)
            except Conflict:
                continue
            return await self._view(
                await self._open_inquiry(inquiry.reference, staff_id, held=True), now
            )
        raise DeskError(self._t("error.busy"))

    async def show(self, reference: str, staff_id: str, now: datetime) -> ItemView:
        """The full record again, for the officer holding the item (audited)."""
        inquiry = await self._open_inquiry(reference, staff_id, held=True)
        view = await self._view(inquiry, now)
        await self.ports.db.commit([self._audit(view, staff_id, "show", now)])
        return view

    def _take_write(self, inquiry: _Inquiry, staff_id: str, now: datetime) -> Write:
        if inquiry.callback is not None:
            return self.ports.callbacks.take(inquiry.callback, staff_id, now)
        if inquiry.request is not None:
            return self.ports.requests.take(inquiry.request, staff_id, now)
        assert inquiry.service is not None
        return self.ports.service_requests.take(inquiry.service, staff_id, now)

    def _audit(self, view: ItemView, staff_id: str, action: str, now: datetime) -> Write:
        """Who was shown which personal data of which item, and when."""
        shown = [
            name
            for name, value in (
                ("phone", view.phone),
                ("receipt", view.receipt),
                ("case", view.case),
                ("answers", view.answers),
                ("preferred_date", view.preferred_date),
            )
            if value
        ]
        what = f"{action}: {view.item.kind} full record ({', '.join(shown) or 'no personal data'})"
        return self.ports.audit.viewed(view.reference, staff_id, what, now)

    async def _view(
        self, inquiry: _Inquiry, now: datetime, *, taken_by: str | None = None
    ) -> ItemView:
        item = self._item(inquiry, now)
        if taken_by is not None:
            item = replace(item, status=self._taken_status(inquiry), taken_by=taken_by)
        phone: str | None = None
        receipt: str | None = None
        role: str | None = None
        answers: list[tuple[str, str]] = []
        preferred: date | None = None
        if inquiry.callback is not None:
            c = inquiry.callback
            shown = parse_us_phone(c.phone)
            phone = shown.display if shown else c.phone
            receipt, role = c.receipt, c.role
            answers.append(("issue", self._label(f"tier1.issue.button.{c.issue}", c.issue)))
            if c.inperson_category:
                label = f"tier1.inperson.button.{c.inperson_category}"
                answers.append(("need", self._label(label, c.inperson_category)))
            if c.evidence:
                answers.append(("evidence", self._label(f"tier1.evidence.{c.evidence}", "")))
        elif inquiry.request is not None:
            r = inquiry.request
            extra_phone = r.phone
            shown = parse_us_phone(extra_phone) if extra_phone else None
            phone = shown.display if shown else extra_phone
            receipt = _receipt_in(r.identifier)
            answers += [
                ("request_type", r.request_type),
                ("identifier", r.identifier),
                ("reason", r.reason),
            ]
            preferred = r.preferred_date
        else:
            assert inquiry.service is not None
            s = inquiry.service
            receipt, role = s.receipt, s.role
            answers.append(("issue", self._label(f"tier1.issue.button.{s.issue}", s.issue)))
        case = await self._case_line(receipt)
        role_rule = str(decide_role(role).rule) if role else None
        # A G-28 matters only when a representative asks; they said it is on file.
        g28 = True if role_rule == RoleRule.REPRESENTATIVE_G28 else None
        office = None
        if inquiry.kind != ItemKind.SERVICE_REQUEST:
            office = self._office_name(await self._office_for(inquiry))
        return ItemView(
            item=item,
            phone=phone,
            receipt=receipt,
            case=case,
            role=role,
            role_rule=role_rule,
            g28_on_file=g28,
            category_rule=inquiry.category_rule,
            urgency_rule=inquiry.urgency_rule,
            escalation_reason=inquiry.escalation_reason,
            answers=tuple(answers),
            preferred_date=preferred,
            office=office,
            history=tuple(await self.ports.staff_log.history(inquiry.reference)),
            outcomes=tuple(
                fitting_outcomes(inquiry.kind, inquiry.category, inquiry.escalation_reason)
            ),
        )

    @staticmethod
    def _taken_status(inquiry: _Inquiry) -> str:
        return "in_review" if inquiry.kind == ItemKind.APPOINTMENT_REQUEST else "taken"

    def _label(self, key: str, fallback: str) -> str:
        return self._t(key) if key in self.lines.messages else fallback

    async def _case_line(self, receipt: str | None) -> str | None:
        if not receipt:
            return None
        try:
            case = await self.ports.cases.lookup(receipt)
        except CaseLookupFailed:
            return self._t("tier2.staff.view.case_unavailable")
        if case is None:
            return self._t("tier2.staff.view.case_not_on_file")
        return self._t(
            "tier2.staff.view.case_status",
            form=case.form_type,
            status=case.status_title,
            on=case.status_date,
        )

    # ---- handing an item back or over ------------------------------------------------------------

    async def release(self, reference: str, staff_id: str, now: datetime) -> Completion:
        """Put an item the officer holds back in the queue, for anyone to take."""
        for _ in range(_RETRIES):
            inquiry = await self._open_inquiry(reference, staff_id, held=True)
            ref = inquiry.reference
            if inquiry.callback is not None:
                change = self.ports.callbacks.release(inquiry.callback, staff_id, now)
            elif inquiry.request is not None:
                change = self.ports.requests.release(inquiry.request, staff_id, now)
            else:
                assert inquiry.service is not None
                change = self.ports.service_requests.release(inquiry.service, now)
            try:
                await self.ports.db.commit(
                    [change, self.ports.staff_log.attempt(ref, now, "released", staff_id, None)]
                )
            except Conflict:
                continue
            return Completion(ref, "released", self._t("tier2.staff.done.released", reference=ref))
        raise DeskError(self._t("error.busy"))

    async def hand_over(self, reference: str, staff_id: str, to: str, now: datetime) -> Completion:
        """Pass an item the officer holds to another officer, who then holds it."""
        to = to.strip()
        if not to:
            raise DeskError(self._t("tier2.staff.error.handover_to_whom"))
        if to == staff_id:
            raise DeskError(self._t("tier2.staff.error.handover_self"))
        for _ in range(_RETRIES):
            inquiry = await self._open_inquiry(reference, staff_id, held=True)
            ref = inquiry.reference
            if inquiry.callback is not None:
                change = self.ports.callbacks.hand_over(inquiry.callback, staff_id, to, now)
            elif inquiry.request is not None:
                change = self.ports.requests.hand_over(inquiry.request, staff_id, to, now)
            else:
                assert inquiry.service is not None
                change = self.ports.service_requests.hand_over(inquiry.service, to, now)
            log = self.ports.staff_log.attempt(ref, now, "handed-over", staff_id, f"to {to}")
            try:
                await self.ports.db.commit([change, log])
            except Conflict:
                continue
            return Completion(
                ref, "handed-over", self._t("tier2.staff.done.handed_over", reference=ref, to=to)
            )
        raise DeskError(self._t("error.busy"))

    # ---- recording the outcome -----------------------------------------------------------------

    async def complete(
        self,
        reference: str,
        outcome: str,
        note: str | None,
        staff_id: str,
        now: datetime,
        *,
        at: date | datetime | None = None,
        bring: Sequence[str] = (),
        receipt: str | None = None,
    ) -> Completion:
        """Record what came of the item; the applicant is told through the outbox.

        `at`: the visit's day (or day and time) for `appointment`, the new biometrics time
        for `biometrics`; `bring`: what the officer adds to the visit's list; `receipt`:
        the case whose biometrics appointment moves, when the item carries none."""
        if outcome not in OUTCOMES:
            raise DeskError(self._t("tier2.staff.error.bad_outcome", outcome=outcome))
        note = (note or "").strip() or None
        now = now.astimezone(self.tz)
        for _ in range(_RETRIES):
            inquiry = await self._open_inquiry(reference, staff_id)
            self._check_fits(inquiry, outcome, note, at, bring, receipt)
            if outcome == Outcome.RESOLVED:
                writes, completion = self._resolved(inquiry, note, staff_id, now)
            elif outcome == Outcome.APPOINTMENT:
                writes, completion = await self._appointment(
                    inquiry, note, staff_id, now, at, bring
                )
            elif outcome == Outcome.BIOMETRICS:
                writes, completion = await self._biometrics(
                    inquiry, note, staff_id, now, at, receipt
                )
            elif outcome == Outcome.REFUSED:
                assert note is not None
                writes, completion = self._refused(inquiry, note, staff_id, now)
            else:
                writes, completion = await self._no_answer(inquiry, note, staff_id, now)
            try:
                await self.ports.db.commit(writes)
            except Conflict:
                continue  # someone changed it, or the slot filled: decide again
            return completion
        raise DeskError(self._t("error.busy"))

    def _check_fits(
        self,
        inquiry: _Inquiry,
        outcome: str,
        note: str | None,
        at: date | datetime | None,
        bring: Sequence[str],
        receipt: str | None,
    ) -> None:
        fits = fitting_outcomes(inquiry.kind, inquiry.category, inquiry.escalation_reason)
        if outcome not in fits:
            raise DeskError(
                self._t(
                    "tier2.staff.error.does_not_fit",
                    outcome=outcome,
                    reference=inquiry.reference,
                    kind=inquiry.kind,
                    outcomes=", ".join(fits),
                )
            )
        if outcome == Outcome.REFUSED and note is None:
            raise DeskError(self._t("tier2.staff.error.needs_reason"))
        if at is not None and outcome not in (Outcome.APPOINTMENT, Outcome.BIOMETRICS):
            raise DeskError(self._t("tier2.staff.error.at_not_here", outcome=outcome))
        if bring and outcome != Outcome.APPOINTMENT:
            raise DeskError(self._t("tier2.staff.error.bring_not_here", outcome=outcome))
        if receipt is not None and outcome != Outcome.BIOMETRICS:
            raise DeskError(self._t("tier2.staff.error.receipt_not_here", outcome=outcome))

    def _close(self, inquiry: _Inquiry, outcome: str, now: datetime) -> list[Write]:
        """Guarded status change: fails (Conflict) when the item changed since it was read."""
        if inquiry.callback is not None:
            return [
                self.ports.callbacks.close(inquiry.callback, _CALLBACK_STATUS[outcome], now),
                self.ports.callbacks.drop_reminder(inquiry.reference),
            ]
        if inquiry.request is not None:
            status = _REQUEST_STATUS[outcome]
            return [self.ports.requests.set_status(inquiry.request, status, now)]
        assert inquiry.service is not None
        status = "resolved" if outcome == "resolved" else outcome
        return [self.ports.service_requests.close(inquiry.service, status, now)]

    def _notice(self, inquiry: _Inquiry, compose: Callable[[], str], now: datetime) -> Write:
        kind = "callback.outcome" if inquiry.callback is not None else f"{inquiry.kind}.outcome"
        reply = self._in_every_language(compose)
        return self.ports.outbox.enqueue(inquiry.key, kind, reply, now=now)

    def _resolved(
        self, inquiry: _Inquiry, note: str | None, staff_id: str, now: datetime
    ) -> tuple[list[Write], Completion]:
        ref = inquiry.reference
        if inquiry.kind == ItemKind.SERVICE_REQUEST:
            key = "tier2.notice.service_answered" if note else "tier2.notice.service_closed"
        else:
            key = "tier2.notice.resolved_note" if note else "tier2.notice.resolved"
        writes = [
            *self._close(inquiry, "resolved", now),
            self.ports.staff_log.attempt(ref, now, "resolved", staff_id, note),
            self._notice(inquiry, lambda: self._t(key, reference=ref, note=note or ""), now),
        ]
        done = self._t("tier2.staff.done.resolved", reference=ref)
        return writes, Completion(ref, "resolved", done)

    def _refused(
        self, inquiry: _Inquiry, reason: str, staff_id: str, now: datetime
    ) -> tuple[list[Write], Completion]:
        ref = inquiry.reference
        key = {
            ItemKind.CALLBACK: "tier2.notice.refused",
            ItemKind.APPOINTMENT_REQUEST: "tier2.notice.request_refused",
            ItemKind.SERVICE_REQUEST: "tier2.notice.service_refused",
        }[inquiry.kind]
        writes = [
            *self._close(inquiry, "refused", now),
            self.ports.staff_log.attempt(ref, now, "refused", staff_id, reason),
            self._notice(inquiry, lambda: self._t(key, reference=ref, reason=reason), now),
        ]
        done = self._t("tier2.staff.done.refused", reference=ref)
        return writes, Completion(ref, "refused", done)

    # ---- a field-office visit ----------------------------------------------------------------

    async def _appointment(
        self,
        inquiry: _Inquiry,
        note: str | None,
        staff_id: str,
        now: datetime,
        at: date | datetime | None,
        bring: Sequence[str],
    ) -> tuple[list[Write], Completion]:
        ref = inquiry.reference
        office = await self._office_for(inquiry)
        if office is None:
            raise DeskError(self._t("field_office.staff.no_zip", reference=ref))
        booked = await self.ports.field_appointments.bookings(office.id, now)
        lead = self.policy.tier2.appointment_lead_business_days
        emergency = is_emergency(inquiry.urgency_rule, inquiry.rule)
        if at is None:
            slot = appointment_slot(now, office, lead, booked)
            if slot is None:
                raise DeskError(self._t("tier2.staff.error.no_capacity", office=office.name))
        else:
            choice = choose_visit(
                at,
                now=now,
                office=office,
                lead_business_days=lead,
                emergency=emergency,
                booked=booked,
            )
            if choice.slot is None:
                raise DeskError(
                    self._t(
                        f"tier2.staff.error.{choice.rule}",
                        office=office.name,
                        opens=office.opens,
                        closes=office.closes,
                        lead=lead,
                    )
                )
            slot = choice.slot

        def notice() -> str:
            return self._t(
                "tier2.notice.appointment",
                reference=ref,
                office=office.name,
                address=office.address,
                when=office_time(slot, office, self.tz),
                bring=self._bring(inquiry, emergency),
                common=self._t("tier2.bring.common"),
                extra=self._extra(note, bring),
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
            self._notice(inquiry, notice, now),
        ]
        done = self._t(
            "tier2.staff.done.appointment",
            reference=ref,
            office=office.name,
            when=office_time(slot, office, self.tz),
        )
        return writes, Completion(ref, "appointment", done)

    def _bring(self, inquiry: _Inquiry, emergency: bool) -> str:
        keys = bring_keys(
            inquiry.category,
            emergency=emergency,
            category_is_emergency=bool(inquiry.rule and inquiry.rule.emergency),
            has=lambda key: key in self.lines.messages,
        )
        first, *more = [self._t(k) for k in keys]
        return "\n".join([first, *(self._t("tier2.notice.also_bring", what=m) for m in more)])

    def _extra(self, note: str | None, bring: Sequence[str] = ()) -> str:
        """The officer's own additions to a notice, each on its own line."""
        lines = []
        items = [b.strip() for b in bring if b.strip()]
        if items:
            lines.append(self._t("tier2.notice.officer_bring", items="; ".join(items)))
        if note:
            lines.append(self._t("tier2.notice.officer_note", note=note))
        return "".join(f"\n{line}" for line in lines)

    def _office_name(self, office: FieldOffice | None) -> str:
        return office.name if office is not None else self._t("field_office.staff.none")

    async def _office_for(self, inquiry: _Inquiry) -> FieldOffice | None:
        """The field office nearest to the item's ZIP code, else the case's on file; None
        when no usable ZIP code is known: never a default office."""
        zip_code: str | None = None
        receipt: str | None = None
        if inquiry.callback is not None:
            zip_code, receipt = inquiry.callback.zip_code, inquiry.callback.receipt
        elif inquiry.request is not None:
            zip_code = inquiry.request.zip_code
            receipt = _receipt_in(inquiry.request.identifier)
        elif inquiry.service is not None:
            receipt = inquiry.service.receipt
        if zip_code is None and receipt:
            try:
                case = await self.ports.cases.lookup(receipt)
            except CaseLookupFailed:
                case = None
            zip_code = case.zip_code if case else None
        return self._office(zip_code)

    def _office(self, zip_code: str | None) -> FieldOffice | None:
        """The one place the desk asks which field office serves a ZIP code."""
        return self.policy.offices.for_zip(zip_code)

    # ---- biometrics moved by the Contact Center ------------------------------------------------

    async def _biometrics(
        self,
        inquiry: _Inquiry,
        note: str | None,
        staff_id: str,
        now: datetime,
        at: date | datetime | None,
        receipt: str | None,
    ) -> tuple[list[Write], Completion]:
        """Move the case's Application Support Center appointment (the online limits do not
        bind the Contact Center), count it as a reschedule, and send the new notice."""
        callback = inquiry.callback
        assert callback is not None  # only callbacks fit this outcome
        ref = inquiry.reference
        case = await self._biometrics_case(ref, receipt or callback.receipt)
        rules = self.policy.biometrics
        site = rules.site(case.biometrics_site) or rules.sites[0]
        booked = await self.ports.biometrics.booked(site.id, now)
        slot = self._biometrics_slot(site, now, at, booked)
        count = case.biometrics_reschedules + 1

        def notice() -> str:
            return self._t(
                "tier2.notice.biometrics",
                reference=ref,
                receipt=case.receipt_number,
                site=site.name,
                address=site.address,
                when=slot,
                bring=bullets(rules.what_to_bring),
                count=count,
                extra=self._extra(note),
            )

        writes = [
            *self.ports.biometrics.book(
                case.receipt_number,
                site.id,
                slot,
                capacity=site.capacity,
                good_cause="contact_center",
                key=inquiry.key,
                now=now,
            ),
            self.ports.cases.rescheduled_biometrics(
                case.receipt_number, slot, site.id, case.biometrics_reschedules, now
            ),
            *self._close(inquiry, "biometrics", now),
            self.ports.staff_log.attempt(ref, now, "biometrics", staff_id, note),
            self._notice(inquiry, notice, now),
        ]
        done = self._t(
            "tier2.staff.done.biometrics", reference=ref, site=site.name, when=slot, count=count
        )
        return writes, Completion(ref, "biometrics", done)

    async def _biometrics_case(self, reference: str, receipt: str | None) -> CaseRecord:
        if not receipt:
            raise DeskError(self._t("tier2.staff.error.no_receipt", reference=reference))
        normalised = _receipt_in(receipt) or receipt.strip().upper()
        try:
            case = await self.ports.cases.lookup(normalised)
        except CaseLookupFailed:
            raise DeskError(self._t("tier2.staff.view.case_unavailable")) from None
        if case is None:
            raise DeskError(self._t("tier2.staff.error.no_case", receipt=normalised))
        if case.biometrics_at is None:
            raise DeskError(self._t("tier2.staff.error.no_biometrics", receipt=normalised))
        return case

    def _biometrics_slot(
        self, site: Any, now: datetime, at: date | datetime | None, booked: dict[datetime, int]
    ) -> datetime:
        rules = self.policy.biometrics
        closed = federal_closures()
        if at is None:
            days = free_days(site, now, booked, rules, closed)
            if not days:
                raise DeskError(self._t("tier2.staff.error.no_biometrics_time", site=site.name))
            return days[0].first
        if not isinstance(at, datetime):
            start = datetime.combine(at, site.opens, tzinfo=self.tz)
            on_day = [
                s
                for s in slot_times(site, max(start, now), 0, closed)
                if s.date() == at and booked.get(s, 0) < site.capacity
            ]
            if not on_day:
                raise DeskError(
                    self._t("tier2.staff.error.biometrics_day_full", site=site.name, day=at)
                )
            return on_day[0]
        wanted = at if at.tzinfo else at.replace(tzinfo=self.tz)
        slots = set(slot_times(site, now, rules.search_days, closed))
        if wanted not in slots:
            raise DeskError(
                self._t(
                    "tier2.staff.error.biometrics_bad_time",
                    site=site.name,
                    opens=site.opens,
                    closes=site.closes,
                )
            )
        if booked.get(wanted, 0) >= site.capacity:
            raise DeskError(
                self._t("tier2.staff.error.biometrics_full", site=site.name, when=wanted)
            )
        return wanted

    # ---- nobody answered -----------------------------------------------------------------------

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
                self._notice(inquiry, lambda: self._t("tier2.notice.closed", reference=ref), now),
            ]
            done = self._t("tier2.staff.done.closed", reference=ref)
            return writes, Completion(ref, "no-answer", done)
        if inquiry.callback is None:
            assert inquiry.request is not None
            writes = [
                self.ports.requests.release(inquiry.request, staff_id, now),
                attempt,
                self._notice(
                    inquiry, lambda: self._t("tier2.notice.retry_unscheduled", reference=ref), now
                ),
            ]
            done = self._t("tier2.staff.done.retry_unscheduled", reference=ref)
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
            self._notice(
                inquiry, lambda: self._t("tier2.notice.retry", reference=ref, when=retry), now
            ),
        ]
        due = reminder_due(retry, self.policy.tier2.reminder_business_days, now)
        if due is not None:
            phone = parse_us_phone(callback.phone)
            shown = phone.display if phone else callback.phone
            reminder = self._in_every_language(
                lambda: self._t("tier2.notice.reminder", reference=ref, when=retry, phone=shown)
            )
            writes.append(
                self.ports.outbox.enqueue(
                    inquiry.key, reminder_kind(ref), reminder, now=now, due_at=due
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


def _receipt_in(identifier: str | None) -> str | None:
    """The receipt number an identifier is, normalised; None for an A-number or nothing."""
    if not identifier:
        return None
    check = check_identifier(identifier)
    return check.value if check.kind == "receipt" else None


def parse_when(text: str) -> date | datetime | None:
    """A day (`2026-11-27`) or a day and time (`2026-11-27 09:30`, `2026-11-27T09:30`) as
    an officer types it; None when it is neither. The time is left without a zone: a
    field-office visit reads it on the office's own clock, a biometrics appointment on the
    service's."""
    cleaned = " ".join(text.replace("T", " ").split())
    try:
        if " " in cleaned:
            return datetime.strptime(cleaned, "%Y-%m-%d %H:%M")
        return date.fromisoformat(cleaned)
    except ValueError:
        return None
