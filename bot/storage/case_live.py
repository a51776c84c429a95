"""Live case data in SQLite: the USCIS Case Status API's last answer per receipt (the
cache the chain of case sources reads first, and the "last known" status when the API
cannot answer), the daily quota counted before each call, and the watch list."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, tzinfo

from msgspec import Struct

from bot.model import ConversationKey
from bot.storage.database import Database, Write
from bot.storage.timefmt import from_db, to_db
from flows.case_live import Seen, Watched, WatchItem
from flows.case_records import SOURCE_CACHE, CaseRecord, HistoryEntry

_NAIVE = "%Y-%m-%dT%H:%M:%S"  # USCIS's own dates are kept as given, without a zone


def _naive(at: datetime | None) -> str | None:
    return at.strftime(_NAIVE) if at else None


def _from_naive(text: str | None) -> datetime | None:
    return datetime.strptime(text, _NAIVE) if text else None


class SqliteLiveCases:
    """The API's answers, kept per receipt, and the quota."""

    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    async def cached(self, receipt: str) -> CaseRecord | None:
        """The last answer kept for `receipt`, with what only the imported case knows (ZIP
        code, biometrics appointment) when it was imported too; one read."""
        row = await self._db.fetchone(
            "SELECT l.*, c.zip_code, c.biometrics_at, c.biometrics_site,"
            " COALESCE(c.biometrics_reschedules, 0) AS biometrics_reschedules"
            " FROM case_live l LEFT JOIN cases c ON c.receipt_number = l.receipt_number"
            " WHERE l.receipt_number = ?",
            (receipt,),
        )
        return None if row is None else self._record(row)

    def store(self, record: CaseRecord) -> Write:
        assert record.checked_at is not None
        history = json.dumps(
            [[h.on.isoformat(), h.text_en, h.text_es] for h in record.history],
            ensure_ascii=False,
        )
        return Write(
            "INSERT INTO case_live (receipt_number, form_type, status_title, status_date,"
            " status_description, status_title_es, status_description_es, submitted_at,"
            " modified_at, history, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (receipt_number) DO UPDATE SET form_type = excluded.form_type,"
            " status_title = excluded.status_title, status_date = excluded.status_date,"
            " status_description = excluded.status_description,"
            " status_title_es = excluded.status_title_es,"
            " status_description_es = excluded.status_description_es,"
            " submitted_at = excluded.submitted_at, modified_at = excluded.modified_at,"
            " history = excluded.history, checked_at = excluded.checked_at",
            (
                record.receipt_number,
                record.form_type,
                record.status_title,
                record.status_date.isoformat(),
                record.status_description,
                record.status_title_es,
                record.status_description_es,
                _naive(record.submitted_at),
                _naive(record.modified_at),
                history,
                to_db(record.checked_at),
            ),
        )

    def _record(self, row: sqlite3.Row) -> CaseRecord:
        return CaseRecord(
            receipt_number=row["receipt_number"],
            form_type=row["form_type"],
            status_title=row["status_title"],
            status_date=date.fromisoformat(row["status_date"]),
            status_description=row["status_description"],
            status_title_es=row["status_title_es"],
            status_description_es=row["status_description_es"],
            submitted_at=_from_naive(row["submitted_at"]),
            modified_at=_from_naive(row["modified_at"]),
            history=tuple(
                HistoryEntry(date.fromisoformat(on), en, es)
                for on, en, es in json.loads(row["history"])
            ),
            source=SOURCE_CACHE,
            checked_at=from_db(row["checked_at"]).astimezone(self._tz),
            zip_code=row["zip_code"],
            biometrics_at=(
                from_db(row["biometrics_at"]).astimezone(self._tz) if row["biometrics_at"] else None
            ),
            biometrics_site=row["biometrics_site"],
            biometrics_reschedules=row["biometrics_reschedules"],
        )

    # ---- the daily quota -----------------------------------------------------------------

    def spend(self, day: str, quota: int) -> Write:
        """One call counted against `day`'s quota; a `Conflict` when it is used up."""
        return Write(
            "INSERT INTO uscis_quota (day, used) SELECT ?, 1 WHERE ? > 0"
            " ON CONFLICT (day) DO UPDATE SET used = uscis_quota.used + 1"
            " WHERE uscis_quota.used < ?",
            (day, quota, quota),
            expect_rows=1,
        )

    async def used(self, day: str) -> int:
        row = await self._db.fetchone("SELECT used FROM uscis_quota WHERE day = ?", (day,))
        return int(row["used"]) if row else 0


class Watcher(Struct, frozen=True):
    """One applicant watching a case: who, the label, what they were last told."""

    key: ConversationKey
    receipt: str
    label: str
    seen: Seen | None
    paused: bool


class SqliteWatches:
    """The watch list: several cases per applicant, with labels; the watcher's polls."""

    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    def watch(
        self, key: ConversationKey, receipt: str, label: str, seen: Seen | None, now: datetime
    ) -> Write:
        """Add the case (or relabel it when it is on the list already)."""
        return Write(
            "INSERT INTO watches (channel, user_id, receipt_number, label, created_at,"
            " seen_title, seen_modified) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel, user_id, receipt_number) DO UPDATE SET label = excluded.label",
            (
                key.channel,
                key.user_id,
                receipt,
                label,
                to_db(now),
                seen.title if seen else None,
                _naive(seen.modified) if seen else None,
            ),
        )

    def unwatch(self, key: ConversationKey, receipt: str) -> Write:
        return Write(
            "DELETE FROM watches WHERE channel = ? AND user_id = ? AND receipt_number = ?",
            (key.channel, key.user_id, receipt),
        )

    def seen(self, key: ConversationKey, receipt: str, seen: Seen) -> Write:
        return Write(
            "UPDATE watches SET seen_title = ?, seen_modified = ?"
            " WHERE channel = ? AND user_id = ? AND receipt_number = ?",
            (seen.title, _naive(seen.modified), key.channel, key.user_id, receipt),
        )

    def polled(
        self, receipt: str, now: datetime, changed: datetime | None, before: datetime | None
    ) -> Write:
        """Record a poll of `receipt`; it conflicts unless the case was last polled at
        `before` (None: never), so that of two processes polling the same case at once,
        one only keeps its poll and the alerts written with it."""
        return Write(
            "INSERT INTO watch_polls (receipt_number, polled_at, changed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (receipt_number) DO UPDATE SET polled_at = excluded.polled_at,"
            " changed_at = COALESCE(excluded.changed_at, watch_polls.changed_at)"
            " WHERE watch_polls.polled_at IS ?",
            (
                receipt,
                to_db(now),
                to_db(changed) if changed else None,
                to_db(before) if before else None,
            ),
            expect_rows=1,
        )

    def pause(self, key: ConversationKey, now: datetime) -> Write:
        return Write(
            "INSERT OR IGNORE INTO watch_paused (channel, user_id, paused_at) VALUES (?, ?, ?)",
            (key.channel, key.user_id, to_db(now)),
        )

    def resume(self, key: ConversationKey) -> Write:
        return Write(
            "DELETE FROM watch_paused WHERE channel = ? AND user_id = ?",
            (key.channel, key.user_id),
        )

    async def paused(self, key: ConversationKey) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM watch_paused WHERE channel = ? AND user_id = ?",
            (key.channel, key.user_id),
        )
        return row is not None

    async def of(self, key: ConversationKey) -> list[WatchItem]:
        """The applicant's list, in the order the cases were added, with what is known of
        each (the live answer first, else the imported case)."""
        rows = await self._db.fetchall(
            "SELECT w.receipt_number, w.label,"
            " COALESCE(l.form_type, c.form_type) AS form_type,"
            " COALESCE(l.status_title, c.status_title) AS status_title,"
            " COALESCE(l.status_date, c.status_date) AS status_date"
            " FROM watches w LEFT JOIN case_live l ON l.receipt_number = w.receipt_number"
            " LEFT JOIN cases c ON c.receipt_number = w.receipt_number"
            " WHERE w.channel = ? AND w.user_id = ? ORDER BY w.created_at, w.receipt_number",
            (key.channel, key.user_id),
        )
        return [
            WatchItem(
                r["receipt_number"],
                r["label"],
                r["form_type"],
                r["status_title"],
                date.fromisoformat(r["status_date"]) if r["status_date"] else None,
            )
            for r in rows
        ]

    async def watched(self) -> list[Watched]:
        """Every watched case once, with when it was last polled and last changed."""
        rows = await self._db.fetchall(
            "SELECT w.receipt_number, p.polled_at, p.changed_at FROM"
            " (SELECT DISTINCT receipt_number FROM watches) w"
            " LEFT JOIN watch_polls p ON p.receipt_number = w.receipt_number"
            " ORDER BY w.receipt_number"
        )
        return [
            Watched(
                r["receipt_number"],
                from_db(r["polled_at"]).astimezone(self._tz) if r["polled_at"] else None,
                from_db(r["changed_at"]).astimezone(self._tz) if r["changed_at"] else None,
            )
            for r in rows
        ]

    async def watchers(self, receipt: str) -> list[Watcher]:
        rows = await self._db.fetchall(
            "SELECT w.*, p.paused_at FROM watches w LEFT JOIN watch_paused p"
            " ON p.channel = w.channel AND p.user_id = w.user_id"
            " WHERE w.receipt_number = ? ORDER BY w.channel, w.user_id",
            (receipt,),
        )
        return [
            Watcher(
                ConversationKey(r["channel"], r["user_id"]),
                r["receipt_number"],
                r["label"],
                Seen(r["seen_title"], _from_naive(r["seen_modified"]))
                if r["seen_title"] is not None
                else None,
                r["paused_at"] is not None,
            )
            for r in rows
        ]
