"""Schema migrations, applied in order at start. Forward only: a migration is never edited
once released; a change is a new migration with the next version number.

Versions are reserved per area so the tiers can grow independently:
1 foundation, 2 automated tier, 3 Tier 1 and Tier 2, 4 and up in order of need.
"""

from __future__ import annotations

from msgspec import Struct


class Migration(Struct, frozen=True):
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
        "staff desk: who is asking on callbacks, service requests and requests in the staff"
        " queue, the audit of full views",
        """
        ALTER TABLE callbacks ADD COLUMN role TEXT;
        ALTER TABLE callbacks ADD COLUMN triage_rule TEXT;
        ALTER TABLE callbacks ADD COLUMN escalation_reason TEXT;
        ALTER TABLE callbacks ADD COLUMN evidence TEXT;

        ALTER TABLE appointment_requests ADD COLUMN taken_by TEXT;

        ALTER TABLE service_requests ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
        ALTER TABLE service_requests ADD COLUMN taken_by TEXT;
        ALTER TABLE service_requests ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE service_requests ADD COLUMN urgency_rule TEXT NOT NULL
            DEFAULT 'urgency.regular';
        ALTER TABLE service_requests ADD COLUMN role TEXT;
        ALTER TABLE service_requests ADD COLUMN updated_at TEXT;
        CREATE INDEX service_requests_by_status ON service_requests (status, created_at);
        CREATE INDEX service_requests_by_conversation ON service_requests (channel, user_id);

        CREATE TABLE staff_views (
            id         INTEGER PRIMARY KEY,
            at         TEXT NOT NULL,
            staff_id   TEXT NOT NULL,
            reference  TEXT NOT NULL,
            what       TEXT NOT NULL
        );
        CREATE INDEX staff_views_by_reference ON staff_views (reference, id);
        """,
    ),
    Migration(
        5,
        "in-person requests: the applicant's phone number and ZIP code (field office)",
        """
        ALTER TABLE appointment_requests ADD COLUMN phone TEXT;
        ALTER TABLE appointment_requests ADD COLUMN zip_code TEXT;
        """,
    ),
    Migration(
        6,
        "live operator chat: queue entries with their operator, relayed messages",
        """
        CREATE TABLE handoffs (
            id          INTEGER PRIMARY KEY,
            reference   TEXT NOT NULL UNIQUE,
            channel     TEXT NOT NULL,
            user_id     TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'waiting'
                CHECK (status IN ('waiting', 'live', 'handed_back', 'resolved', 'timed_out',
                                  'left')),
            issue       TEXT,
            receipt     TEXT,
            came_from   TEXT NOT NULL,
            operator    TEXT,
            created_at  TEXT NOT NULL,
            picked_at   TEXT,
            ended_at    TEXT,
            end_rule    TEXT
        );
        CREATE INDEX handoffs_by_status ON handoffs (status, id);
        CREATE INDEX handoffs_by_operator ON handoffs (operator, status);

        CREATE TABLE handoff_messages (
            id         INTEGER PRIMARY KEY,
            reference  TEXT NOT NULL REFERENCES handoffs (reference),
            at         TEXT NOT NULL,
            sender     TEXT NOT NULL CHECK (sender IN ('applicant', 'operator')),
            staff_id   TEXT,
            text       TEXT NOT NULL,
            source     TEXT UNIQUE
        );
        CREATE INDEX handoff_messages_by_reference ON handoff_messages (reference, id);
        """,
    ),
    Migration(
        7,
        "retention: indexes so purges and withdrawn reminders cost what they delete",
        """
        CREATE INDEX turns_by_time ON turns (at);
        CREATE INDEX transitions_by_time ON transitions (at);
        CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
        CREATE INDEX outbox_undelivered_by_kind ON outbox (kind) WHERE delivered_at IS NULL;
        CREATE INDEX conversations_by_update ON conversations (updated_at)
        """,
    ),
    Migration(
        8,
        "Telegram: durable inbox of updates; outbox sends marked before they are attempted",
        """
        CREATE TABLE telegram_inbox (
            update_id    INTEGER PRIMARY KEY,
            chat_id      INTEGER,
            payload      TEXT,
            received_at  TEXT NOT NULL,
            done_at      TEXT
        );
        CREATE INDEX telegram_inbox_open ON telegram_inbox (update_id) WHERE done_at IS NULL;
        CREATE INDEX telegram_inbox_done ON telegram_inbox (done_at) WHERE done_at IS NOT NULL;

        ALTER TABLE outbox ADD COLUMN attempted_at TEXT
        """,
    ),
    Migration(
        9,
        "conversations: the steps Back returns to",
        """
        ALTER TABLE conversations ADD COLUMN trail TEXT NOT NULL DEFAULT '';
        """,
    ),
    Migration(
        10,
        "USCIS Case Status API: cached answers, the daily quota, the watch list",
        """
        CREATE TABLE case_live (
            receipt_number         TEXT PRIMARY KEY,
            form_type              TEXT NOT NULL,
            status_title           TEXT NOT NULL,
            status_date            TEXT NOT NULL,
            status_description     TEXT NOT NULL DEFAULT '',
            status_title_es        TEXT NOT NULL DEFAULT '',
            status_description_es  TEXT NOT NULL DEFAULT '',
            submitted_at           TEXT,
            modified_at            TEXT,
            history                TEXT NOT NULL DEFAULT '[]',
            checked_at             TEXT NOT NULL
        );
        CREATE TABLE uscis_quota (
            day   TEXT PRIMARY KEY,
            used  INTEGER NOT NULL
        );
        CREATE TABLE watches (
            channel         TEXT NOT NULL,
            user_id         TEXT NOT NULL,
            receipt_number  TEXT NOT NULL,
            label           TEXT NOT NULL DEFAULT '',
            created_at      TEXT NOT NULL,
            seen_title      TEXT,
            seen_modified   TEXT,
            PRIMARY KEY (channel, user_id, receipt_number)
        );
        CREATE INDEX watches_by_receipt ON watches (receipt_number);
        CREATE TABLE watch_polls (
            receipt_number  TEXT PRIMARY KEY,
            polled_at       TEXT,
            changed_at      TEXT
        );
        CREATE TABLE watch_paused (
            channel    TEXT NOT NULL,
            user_id    TEXT NOT NULL,
            paused_at  TEXT NOT NULL,
            PRIMARY KEY (channel, user_id)
        )
        """,
    ),
    Migration(
        11,
        "conversations: the applicant's language; outbox: a notice in every language",
        """
        ALTER TABLE conversations ADD COLUMN language TEXT NOT NULL DEFAULT '';
        ALTER TABLE outbox ADD COLUMN translations TEXT;
        """,
    ),
    Migration(
        12,
        "Telegram replicas: a chat's open updates found by chat; what was registered",
        """
        CREATE INDEX telegram_inbox_open_by_chat ON telegram_inbox (chat_id, update_id)
            WHERE done_at IS NULL;
        CREATE TABLE telegram_registrations (
            name           TEXT PRIMARY KEY,
            fingerprint    TEXT NOT NULL,
            registered_at  TEXT NOT NULL
        );
        """,
    ),
]


def latest_version() -> int:
    return max(m.version for m in MIGRATIONS)
