"""Schema migrations, applied in order at start. Forward only: a migration is never edited
once released; a change is a new migration with the next version number.

Versions are reserved per area so the tiers can grow independently:
1 foundation, 2 automated tier, 3 Tier 1 and Tier 2, 4 and up in order of need.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "conversations, transition log, turn history, outbox, cases, appointment requests",
        """
        CREATE TABLE conversations (
            channel     TEXT NOT NULL,
            user_id     TEXT NOT NULL,
            state       TEXT NOT NULL,
            slots       TEXT NOT NULL DEFAULT '{}',
            offered     TEXT NOT NULL DEFAULT '[]',
            version     INTEGER NOT NULL,
            updated_at  TEXT NOT NULL,
            PRIMARY KEY (channel, user_id)
        ) WITHOUT ROWID;

        CREATE TABLE transitions (
            id       INTEGER PRIMARY KEY,
            channel  TEXT NOT NULL,
            user_id  TEXT NOT NULL,
            at       TEXT NOT NULL,
            trigger  TEXT NOT NULL,
            source   TEXT NOT NULL,
            dest     TEXT NOT NULL,
            rule     TEXT NOT NULL
        );
        CREATE INDEX transitions_by_conversation ON transitions (channel, user_id, id);

        CREATE TABLE turns (
            id       INTEGER PRIMARY KEY,
            channel  TEXT NOT NULL,
            user_id  TEXT NOT NULL,
            at       TEXT NOT NULL,
            kind     TEXT NOT NULL CHECK (kind IN ('text', 'button')),
            value    TEXT NOT NULL,
            state    TEXT NOT NULL
        );
        CREATE INDEX turns_by_conversation ON turns (channel, user_id, id);

        CREATE TABLE outbox (
            id            INTEGER PRIMARY KEY,
            channel       TEXT NOT NULL,
            user_id       TEXT NOT NULL,
            kind          TEXT NOT NULL,
            text          TEXT NOT NULL,
            buttons       TEXT NOT NULL DEFAULT '[]',
            due_at        TEXT NOT NULL,
            created_at    TEXT NOT NULL,
            delivered_at  TEXT
        );
        CREATE INDEX outbox_pending ON outbox (channel, delivered_at, due_at);

        CREATE TABLE cases (
            receipt_number          TEXT PRIMARY KEY,
            form_type               TEXT NOT NULL,
            status_title            TEXT NOT NULL,
            status_date             TEXT NOT NULL,
            zip_code                TEXT,
            biometrics_at           TEXT,
            biometrics_site         TEXT,
            biometrics_reschedules  INTEGER NOT NULL DEFAULT 0,
            updated_at              TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE appointment_requests (
            reference       TEXT PRIMARY KEY,
            channel         TEXT NOT NULL,
            user_id         TEXT NOT NULL,
            request_type    TEXT NOT NULL,
            identifier      TEXT NOT NULL,
            reason          TEXT NOT NULL,
            preferred_date  TEXT,
            status          TEXT NOT NULL DEFAULT 'pending_review',
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX appointment_requests_by_status ON appointment_requests (status, created_at);
        """,
    ),
    Migration(
        2,
        "automated tier: biometrics bookings at Application Support Centers",
        """
        CREATE TABLE biometrics_bookings (
            id              INTEGER PRIMARY KEY,
            receipt_number  TEXT NOT NULL,
            site_id         TEXT NOT NULL,
            slot_at         TEXT NOT NULL,
            good_cause      TEXT NOT NULL,
            channel         TEXT NOT NULL,
            user_id         TEXT NOT NULL,
            created_at      TEXT NOT NULL
        );
        CREATE INDEX biometrics_bookings_by_slot ON biometrics_bookings (site_id, slot_at);
        CREATE INDEX biometrics_bookings_by_receipt ON biometrics_bookings (receipt_number)

        """,
    ),
    Migration(
        3,
        "tiers: officer callbacks, service requests, field-office appointments, call attempts",
        """
        CREATE TABLE callbacks (
            reference           TEXT PRIMARY KEY,
            channel             TEXT NOT NULL,
            user_id             TEXT NOT NULL,
            issue               TEXT NOT NULL,
            urgent              INTEGER NOT NULL,
            urgency_rule        TEXT NOT NULL,
            inperson_category   TEXT,
            inperson_justified  INTEGER,
            inperson_rule       TEXT,
            phone               TEXT NOT NULL,
            zip_code            TEXT,
            receipt             TEXT,
            slot_at             TEXT NOT NULL,
            status              TEXT NOT NULL DEFAULT 'booked'
                CHECK (status IN ('booked', 'taken', 'resolved', 'appointment', 'closed',
                                  'cancelled')),
            attempts            INTEGER NOT NULL DEFAULT 0,
            taken_by            TEXT,
            created_at          TEXT NOT NULL,
            updated_at          TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX callbacks_by_slot ON callbacks (slot_at, status);
        CREATE INDEX callbacks_by_conversation ON callbacks (channel, user_id, created_at);

        CREATE TABLE service_requests (
            service_item  TEXT PRIMARY KEY,
            channel       TEXT NOT NULL,
            user_id       TEXT NOT NULL,
            issue         TEXT NOT NULL,
            receipt       TEXT,
            rule          TEXT NOT NULL,
            created_at    TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE field_appointments (
            reference         TEXT PRIMARY KEY,
            source_reference  TEXT NOT NULL,
            office_id         TEXT NOT NULL,
            at                TEXT NOT NULL,
            category          TEXT NOT NULL,
            channel           TEXT NOT NULL,
            user_id           TEXT NOT NULL,
            booked_by         TEXT NOT NULL,
            created_at        TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX field_appointments_by_slot ON field_appointments (office_id, at);

        CREATE TABLE inquiry_attempts (
            id         INTEGER PRIMARY KEY,
            reference  TEXT NOT NULL,
            at         TEXT NOT NULL,
            outcome    TEXT NOT NULL,
            staff_id   TEXT NOT NULL,
            note       TEXT
        );
        CREATE INDEX inquiry_attempts_by_reference ON inquiry_attempts (reference, id);
        """,
    ),
    Migration(
        4,
        "conversations: the steps Back returns to",
        """
        ALTER TABLE conversations ADD COLUMN trail TEXT NOT NULL DEFAULT '';
        """,
    ),
]


def latest_version() -> int:
    return max(m.version for m in MIGRATIONS)
