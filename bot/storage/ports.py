"""The storage ports: small typed interfaces the engine, the tiers' actions, the staff desk,
the adapters and the trainer use, never SQL. `bot.storage` holds their implementation
(every SQL statement of the product is under `bot/storage/`), the same classes on either
database: SQLite or PostgreSQL (`bot.storage.postgres` reads the statements as written).

Reads are awaited. Writes are not run at once: a port returns `Write`s that the caller
hands to one `Database.commit` (the engine commits a turn's writes together with its new
state), so a turn or a desk action is kept whole or not at all. A write that states a
precondition (capacity, status, version) makes the whole commit a `Conflict` when it does
not hold, and the caller decides again on fresh data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Protocol

from msgspec import Struct

from bot.model import ConversationKey, Reply
from bot.storage.case_live import Watcher
from bot.storage.conversations import StoredConversation
from bot.storage.database import Database, Write
from bot.storage.inbox import InboxUpdate
from bot.storage.outbox import Notice
from bot.storage.requests import AppointmentRequest
from bot.storage.retention import Expiring
from bot.storage.service_requests import ServiceRequest
from bot.storage.staff_log import Attempt, View
from flows.callbacks import CallbackRecord
from flows.case_live import Lookup, Seen, Watched, WatchItem
from flows.case_records import CaseRecord
from flows.handoff import Handoff, RelayedMessage
from flows.my_requests import MyItem


class Conversations(Protocol):
    async def load(self, key: ConversationKey, initial: str) -> StoredConversation: ...

    def remembered(self, key: ConversationKey) -> StoredConversation | None: ...

    def remember(self, stored: StoredConversation) -> None: ...

    def forget(self, key: ConversationKey) -> None: ...

    def unchanged(self, kept: StoredConversation) -> Write: ...

    def saved(
        self,
        before: StoredConversation,
        state: str,
        answers: str,
        offered: list[str],
        trail: tuple[str, ...] = (),
        language: str = "",
    ) -> StoredConversation: ...

    def save(
        self,
        before: StoredConversation,
        state: str,
        answers: str,
        offered: list[str],
        now: datetime,
        trail: tuple[str, ...] = (),
        language: str = "",
    ) -> Write: ...


class Transcript(Protocol):
    def turn(
        self, key: ConversationKey, at: datetime, kind: str, value: str, state: str
    ) -> Write: ...

    def transition(
        self, key: ConversationKey, at: datetime, trigger: str, source: str, dest: str, rule: str
    ) -> Write: ...

    async def turns_of(self, key: ConversationKey) -> list[dict[str, str]]: ...

    async def transitions_of(self, key: ConversationKey) -> list[dict[str, str]]: ...

    async def transitions_since(self, after_id: int = 0) -> list[dict[str, object]]: ...


class Outbox(Protocol):
    def enqueue(
        self,
        key: ConversationKey,
        kind: str,
        reply: Reply,
        *,
        now: datetime,
        due_at: datetime | None = None,
        delivered: bool = False,
    ) -> Write: ...

    async def due(
        self, channel: str, now: datetime, *, user_id: str | None = None, limit: int = 100
    ) -> list[Notice]: ...

    def mark_delivered(self, notice_id: int, now: datetime) -> Write: ...

    # ---- for channels that push (Telegram): what may have arrived is not sent again ----
    def mark_attempted(self, notice_id: int, now: datetime) -> Write: ...

    def clear_attempt(self, notice_id: int) -> Write: ...

    def claim(self, notice_id: int, now: datetime) -> Write: ...

    async def due_users(self, channel: str, now: datetime, *, limit: int = 10_000) -> list[str]: ...

    async def backlog(self, channel: str, now: datetime) -> int: ...


class Cases(Protocol):
    """The case source: lookups by normalised receipt number, and import writes."""

    async def lookup(self, receipt: str) -> CaseRecord | None: ...

    async def find(self, receipt: str) -> Lookup:
        """The case with its outcome (found, not found, not shown online, refused as
        malformed, unavailable) and, on the record, where it came from and when."""
        ...

    async def refresh(self, receipt: str) -> Lookup:
        """As `find`, past any recent cached answer (the watcher's poll)."""
        ...

    def kept_check(self, receipt: str, found: Lookup) -> Sequence[Write]:
        """What a turn that decides on `found` (`find(receipt)`) commits with its writes,
        when it was kept in memory (see `bot.storage.cases`); nothing otherwise."""
        ...

    async def any(self) -> bool: ...

    async def count(self) -> int: ...

    async def listing(self, limit: int | None = None) -> list[CaseRecord]: ...

    def upsert(self, record: CaseRecord, now: datetime) -> Write: ...

    def upsert_rows(self, rows: Sequence[Sequence[object]], now: datetime) -> list[Write]: ...

    def insert_new(self, record: CaseRecord, now: datetime) -> Write: ...

    def rescheduled_biometrics(
        self, receipt: str, at: datetime, site_id: str, prior_reschedules: int, now: datetime
    ) -> Write: ...


# ---- the automated tier's ports (biometrics bookings, appointment requests) -----------------


class BiometricsBookings(Protocol):
    """Bookings at Application Support Centers; capacity is the booking write's own
    precondition."""

    async def booked(self, site_id: str, since: datetime) -> dict[datetime, int]: ...

    def book(
        self,
        receipt: str,
        site_id: str,
        at: datetime,
        *,
        capacity: int,
        good_cause: str,
        key: ConversationKey,
        now: datetime,
    ) -> tuple[Write, Write]: ...


class AppointmentRequests(Protocol):
    """In-person appointment requests: stored by the automated tier, reviewed by staff."""

    def submit(
        self,
        reference: str,
        key: ConversationKey,
        *,
        request_type: str,
        identifier: str,
        reason: str,
        preferred_date: date | None,
        now: datetime,
        phone: str | None = None,
        zip_code: str | None = None,
    ) -> Write: ...

    async def open_requests(self) -> list[AppointmentRequest]: ...

    async def get(self, reference: str) -> AppointmentRequest | None: ...

    async def open_of(self, key: ConversationKey) -> list[AppointmentRequest]: ...

    def set_status(self, request: AppointmentRequest, status: str, now: datetime) -> Write: ...

    def take(self, request: AppointmentRequest, staff_id: str, now: datetime) -> Write: ...

    def release(self, request: AppointmentRequest, staff_id: str, now: datetime) -> Write: ...

    def hand_over(
        self, request: AppointmentRequest, staff_id: str, to: str, now: datetime
    ) -> Write: ...


# ---- Tier 1 and Tier 2 ports (service requests, callbacks, field appointments, staff log) ----


class Callbacks(Protocol):
    """Officer callbacks: capacity is the precondition of `book` and `move`, nowhere else."""

    async def booked_counts(self, start: datetime, end: datetime) -> dict[datetime, int]: ...

    async def count_at(self, slot: datetime) -> int: ...

    async def get(self, reference: str) -> CallbackRecord | None: ...

    async def open_of(self, key: ConversationKey) -> list[CallbackRecord]: ...

    async def queue(self, until: datetime | None = None) -> list[CallbackRecord]: ...

    def book(self, callback: CallbackRecord, capacity: int, now: datetime) -> Write: ...

    def move(
        self,
        reference: str,
        slot: datetime,
        capacity: int,
        now: datetime,
        *,
        attempts: int | None = None,
    ) -> Write: ...

    def cancel(self, reference: str, now: datetime) -> Write: ...

    def take(self, callback: CallbackRecord, staff_id: str, now: datetime) -> Write: ...

    def close(self, callback: CallbackRecord, status: str, now: datetime) -> Write: ...

    def release(self, callback: CallbackRecord, staff_id: str, now: datetime) -> Write: ...

    def hand_over(
        self, callback: CallbackRecord, staff_id: str, to: str, now: datetime
    ) -> Write: ...

    def drop_reminder(self, reference: str) -> Write: ...


class ServiceRequests(Protocol):
    """Tier 1 service requests: opened by an operator, answered by staff from the queue."""

    def open(
        self,
        number: str,
        key: ConversationKey,
        issue: str,
        receipt: str | None,
        rule: str,
        now: datetime,
        *,
        role: str | None = None,
        urgent: bool = False,
        urgency_rule: str = "urgency.regular",
    ) -> Write: ...

    async def get(self, number: str) -> ServiceRequest | None: ...

    async def open_items(self) -> list[ServiceRequest]: ...

    async def open_of(self, key: ConversationKey) -> list[ServiceRequest]: ...

    def take(self, request: ServiceRequest, staff_id: str, now: datetime) -> Write: ...

    def release(self, request: ServiceRequest, now: datetime) -> Write: ...

    def hand_over(self, request: ServiceRequest, to: str, now: datetime) -> Write: ...

    def close(self, request: ServiceRequest, status: str, now: datetime) -> Write: ...


class FieldAppointments(Protocol):
    """Field-office visits: the office's capacity is the precondition of `book`."""

    async def bookings(self, office_id: str, since: datetime) -> dict[datetime, int]: ...

    def book(
        self,
        reference: str,
        source_reference: str,
        office_id: str,
        capacity: int,
        at: datetime,
        category: str,
        key: ConversationKey,
        staff_id: str,
        now: datetime,
    ) -> Write: ...


class StaffLog(Protocol):
    def attempt(
        self, reference: str, now: datetime, outcome: str, staff_id: str, note: str | None
    ) -> Write: ...

    async def no_answers(self, reference: str) -> int: ...

    async def history(self, reference: str) -> list[Attempt]: ...


class StaffAudit(Protocol):
    """Each full view of an item an officer is shown: who, what, when."""

    def viewed(self, reference: str, staff_id: str, what: str, now: datetime) -> Write: ...

    async def views_of(self, reference: str) -> list[View]: ...


class Handoffs(Protocol):
    """Live operator chats: queue entries, their operator, relayed messages."""

    async def get(self, reference: str) -> Handoff | None: ...

    async def waiting(self) -> list[Handoff]: ...

    async def waiting_count(self) -> int: ...

    async def ahead_of(self, reference: str) -> int: ...

    async def live_with(self, staff_id: str) -> list[Handoff]: ...

    async def messages(self, reference: str) -> list[RelayedMessage]: ...

    async def relayed(self, source: str) -> bool: ...

    def open(
        self,
        reference: str,
        key: ConversationKey,
        *,
        issue: str | None,
        receipt: str | None,
        came_from: str,
        now: datetime,
    ) -> Write: ...

    def assign(self, reference: str, staff_id: str, now: datetime) -> Write: ...

    def close(self, reference: str, status: str, rule: str, now: datetime) -> Write: ...

    def applicant_message(
        self, reference: str, text: str, now: datetime, *, source: str | None = None
    ) -> Write: ...

    def operator_message(
        self,
        reference: str,
        staff_id: str,
        text: str,
        now: datetime,
        *,
        source: str | None = None,
        while_open: bool = False,
    ) -> Write: ...


class Retention(Protocol):
    """What the retention policy deletes: counted, and deleted a batch at a time."""

    async def count_before(self, kind: Expiring, cutoff: datetime) -> int: ...

    def delete_before(self, kind: Expiring, cutoff: datetime, limit: int) -> Write: ...


class TelegramInbox(Protocol):
    """Telegram updates stored before Telegram is told they arrived, until their turn has
    committed (`done` goes into the turn's commit). The update id is the key."""

    def receive(
        self, update_id: int, chat_id: int | None, payload: str, now: datetime
    ) -> Write: ...

    def skip(self, update_id: int, now: datetime) -> Write: ...

    def done(self, update_id: int, now: datetime) -> Write: ...

    def prune(self, before: datetime) -> Write: ...

    async def open_updates(self) -> list[InboxUpdate]: ...

    async def backlog(self) -> int: ...

    # ---- replicas on one server database ------------------------------------------------
    async def oldest_open(self, chat_id: int) -> InboxUpdate | None: ...

    async def open_chats(self) -> dict[int, int]: ...

    async def registered(self, name: str) -> str | None: ...

    def register(self, name: str, fingerprint: str, now: datetime) -> Write: ...


class LiveCases(Protocol):
    """The USCIS Case Status API's last answers (the cache) and the daily quota."""

    async def cached(self, receipt: str) -> CaseRecord | None: ...

    def store(self, record: CaseRecord) -> Write: ...

    def spend(self, day: str, quota: int) -> Write: ...

    async def used(self, day: str) -> int: ...


class Watches(Protocol):
    """The watch list: cases per applicant with labels, what each was last told, polls."""

    def watch(
        self, key: ConversationKey, receipt: str, label: str, seen: Seen | None, now: datetime
    ) -> Write: ...

    def unwatch(self, key: ConversationKey, receipt: str) -> Write: ...

    def seen(self, key: ConversationKey, receipt: str, seen: Seen) -> Write: ...

    def polled(
        self, receipt: str, now: datetime, changed: datetime | None, before: datetime | None
    ) -> Write: ...

    def pause(self, key: ConversationKey, now: datetime) -> Write: ...

    def resume(self, key: ConversationKey) -> Write: ...

    async def paused(self, key: ConversationKey) -> bool: ...

    async def of(self, key: ConversationKey) -> list[WatchItem]: ...

    async def watched(self) -> list[Watched]: ...

    async def watchers(self, receipt: str) -> list[Watcher]: ...


class Mine(Protocol):
    """What one applicant has in flight or had (read only): "My requests"."""

    async def of(self, key: ConversationKey) -> list[MyItem]: ...


class Ports(Struct, frozen=True):
    """Every port, built once per process over one database."""

    db: Database
    conversations: Conversations
    transcript: Transcript
    outbox: Outbox
    cases: Cases
    biometrics: BiometricsBookings
    requests: AppointmentRequests
    callbacks: Callbacks
    service_requests: ServiceRequests
    field_appointments: FieldAppointments
    staff_log: StaffLog
    audit: StaffAudit
    handoffs: Handoffs
    retention: Retention
    telegram_inbox: TelegramInbox
    mine: Mine
    live_cases: LiveCases
    watches: Watches


def sqlite_ports(db: Database, tz: tzinfo) -> Ports:
    from bot.storage import outbox
    from bot.storage.biometrics import SqliteBiometricsBookings
    from bot.storage.callbacks import SqliteCallbacks
    from bot.storage.case_live import SqliteLiveCases, SqliteWatches
    from bot.storage.cases import SqliteCases
    from bot.storage.conversations import SqliteConversations, SqliteTranscript
    from bot.storage.field_appointments import SqliteFieldAppointments
    from bot.storage.handoffs import SqliteHandoffs
    from bot.storage.inbox import SqliteTelegramInbox
    from bot.storage.mine import SqliteMine
    from bot.storage.requests import SqliteAppointmentRequests
    from bot.storage.retention import SqliteRetention
    from bot.storage.service_requests import SqliteServiceRequests
    from bot.storage.staff_log import SqliteStaffAudit, SqliteStaffLog

    return Ports(
        db=db,
        conversations=SqliteConversations(db),
        transcript=SqliteTranscript(db),
        outbox=outbox.SqliteOutbox(db),
        cases=SqliteCases(db, tz),
        biometrics=SqliteBiometricsBookings(db, tz),
        requests=SqliteAppointmentRequests(db),
        callbacks=SqliteCallbacks(db, tz),
        service_requests=SqliteServiceRequests(db, tz),
        field_appointments=SqliteFieldAppointments(db, tz),
        staff_log=SqliteStaffLog(db, tz),
        audit=SqliteStaffAudit(db, tz),
        handoffs=SqliteHandoffs(db, tz),
        retention=SqliteRetention(db),
        telegram_inbox=SqliteTelegramInbox(db),
        mine=SqliteMine(db, tz),
        live_cases=SqliteLiveCases(db, tz),
        watches=SqliteWatches(db, tz),
    )
