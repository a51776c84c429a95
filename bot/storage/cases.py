"""Case records in SQLite: the local case source (imported with `tierline cases import`).

`SqliteCases` is the `Cases` port: lookups for the tiers and the staff desk, and the writes
of an import. A live source (the USCIS Case Status API) can stand in front of it behind the
same `lookup`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from pathlib import Path

from bot.storage.database import Database, StorageError, Write
from flows.case_records import COLUMNS, CaseRecord
from flows.privacy import mask_personal_data

log = logging.getLogger(__name__)

CHUNK = 5000  # rows per executemany call: large enough to be fast, small for progress
Progress = Callable[[int, int], None]  # (done, total)

UPSERT_SQL = (
    "INSERT INTO cases ("
    + ", ".join(COLUMNS)
    + ", updated_at) VALUES ("
    + ", ".join("?" * (len(COLUMNS) + 1))
    + ") ON CONFLICT (receipt_number) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*COLUMNS[1:], "updated_at"))
)
_INSERT_NEW_SQL = UPSERT_SQL.split(" ON CONFLICT", 1)[0].replace("INSERT", "INSERT OR IGNORE", 1)


class CaseLookupFailed(Exception):
    """The case source could not answer (down, refused, timed out); try again later."""


class SqliteCases:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    async def lookup(self, receipt: str) -> CaseRecord | None:
        """The case on file for the normalised `receipt`, None when there is none, or
        `CaseLookupFailed` when the source cannot answer."""
        try:
            row = await self._db.fetchone(
                "SELECT * FROM cases WHERE receipt_number = ?", (receipt,)
            )
        except StorageError as exc:
            log.error("case lookup failed for %s: %s", mask_personal_data(receipt), exc)
            raise CaseLookupFailed(str(exc)) from exc
        return None if row is None else record_from_row(row, self._tz)

    async def any(self) -> bool:
        row = await self._db.fetchone("SELECT EXISTS (SELECT 1 FROM cases) AS any_case")
        return bool(row and row["any_case"])

    async def count(self) -> int:
        row = await self._db.fetchone("SELECT COUNT(*) AS n FROM cases")
        return int(row["n"]) if row else 0

    async def listing(self, limit: int | None = None) -> list[CaseRecord]:
        sql = "SELECT * FROM cases ORDER BY receipt_number"
        rows = await (
            self._db.fetchall(sql + " LIMIT ?", (limit,))
            if limit is not None
            else self._db.fetchall(sql)
        )
        return [record_from_row(r, self._tz) for r in rows]

    def upsert(self, record: CaseRecord, now: datetime) -> Write:
        """Insert the case, or update it when the receipt is on file already."""
        return Write(UPSERT_SQL, (*record.db_params(), _stamp(now)))

    def insert_new(self, record: CaseRecord, now: datetime) -> Write:
        """Insert the case unless the receipt is on file (demo data: two processes starting
        on one new database both load it safely)."""
        return Write(_INSERT_NEW_SQL, (*record.db_params(), _stamp(now)))

    def rescheduled_biometrics(
        self, receipt: str, at: datetime, site_id: str, prior_reschedules: int, now: datetime
    ) -> Write:
        """Move the case's biometrics appointment and count the reschedule; conflicts when
        the case was rescheduled meanwhile."""
        return Write(
            "UPDATE cases SET biometrics_at = ?, biometrics_site = ?, biometrics_reschedules ="
            " biometrics_reschedules + 1, updated_at = ? WHERE receipt_number = ?"
            " AND biometrics_reschedules = ?",
            (_stamp(at), site_id, _stamp(now), receipt, prior_reschedules),
            expect_rows=1,
        )


def _stamp(at: datetime) -> str:
    from bot.storage.timefmt import to_db

    return to_db(at)


def record_from_row(row: sqlite3.Row, tz: tzinfo) -> CaseRecord:
    at = row["biometrics_at"]
    return CaseRecord(
        receipt_number=row["receipt_number"],
        form_type=row["form_type"],
        status_title=row["status_title"],
        status_date=date.fromisoformat(row["status_date"]),
        zip_code=row["zip_code"],
        biometrics_at=datetime.fromisoformat(at).astimezone(tz) if at else None,
        biometrics_site=row["biometrics_site"],
        biometrics_reschedules=row["biometrics_reschedules"],
    )


def bulk_upsert(
    db_path: Path, records: list[CaseRecord], now: datetime, progress: Progress | None = None
) -> int:
    """Insert or update `records` in one transaction (all or nothing); return the count.

    A plain sqlite3 connection is used on purpose: the bulk path needs `executemany`,
    and a long-running import should not go through the turn-sized group-commit queue.
    The database must already be migrated (open it once with `Database.open`).
    """
    stamp = _stamp(now)
    try:
        conn = sqlite3.connect(db_path, isolation_level=None)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open the database {db_path}: {exc}") from None
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("BEGIN IMMEDIATE")
        for start in range(0, len(records), CHUNK):
            chunk = records[start : start + CHUNK]
            conn.executemany(UPSERT_SQL, [(*r.db_params(), stamp) for r in chunk])
            if progress is not None:
                progress(start + len(chunk), len(records))
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StorageError(f"the cases could not be saved, nothing was changed: {exc}") from None
    finally:
        conn.close()
    return len(records)
