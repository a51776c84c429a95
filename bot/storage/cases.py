"""Case records in SQLite: the local case source (imported with `tierline cases import`).

`SqliteCases` is the `Cases` port: lookups for the tiers and the staff desk, and the writes
of an import. A live source (the USCIS Case Status API) can stand in front of it behind the
same `lookup`.

What a turn's `find` read is kept in memory (the same cases are asked about again and
again) and dropped whenever it may no longer be true (`Database.watch`): any statement of
this process writing to the table (an import, a rescheduled appointment), or another
connection's commit (an import running beside the bot), as the writer sees it. A turn that
decided on a kept case commits `kept_check` with its writes: in the first batch after
another connection committed, the writer refuses it as a Conflict and the turn is decided
again on the case as stored: an import the writer had not seen yet when the turn read the
case is not answered from memory. `lookup` and `refresh` (the staff desk, the watcher's
poll, the live chain's imported cases) read the file every time.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from datetime import date, datetime, tzinfo
from functools import lru_cache

from bot.storage.database import Database, StorageError, Write, keep_newest
from flows.case_live import FOUND, NOT_FOUND, Lookup
from flows.case_records import COLUMNS, CaseRecord
from flows.privacy import mask_personal_data

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)
ROWS_PER_STATEMENT = 100  # an import's rows per INSERT (9 values each: far below SQLite's cap)

_VALUES = "(" + ", ".join("?" * (len(COLUMNS) + 1)) + ")"
_INSERT_HEAD = "INSERT INTO cases (" + ", ".join(COLUMNS) + ", updated_at) VALUES "
_ON_CONFLICT = " ON CONFLICT (receipt_number) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in (*COLUMNS[1:], "updated_at")
)
UPSERT_SQL = _INSERT_HEAD + _VALUES + _ON_CONFLICT
_INSERT_NEW_SQL = _INSERT_HEAD.replace("INSERT", "INSERT OR IGNORE", 1) + _VALUES
CACHE_CASES = 10_000  # cases kept in memory (found or not), the most recently read
# Committed by a turn that decided on a kept case: reads and writes nothing; the writer
# refuses it as a Conflict in the first batch after another connection committed.
_KEPT_CHECK = Write("SELECT 1 /* decided on a kept case row */")


@lru_cache(maxsize=8)
def _upsert_many_sql(rows: int) -> str:
    return _INSERT_HEAD + ", ".join([_VALUES] * rows) + _ON_CONFLICT


class CaseLookupFailed(Exception):
    """The case source could not answer (down, refused, timed out); try again later."""


class SqliteCases:
    def __init__(self, db: Database, tz: tzinfo, *, cache_cases: int = CACHE_CASES) -> None:
        self._db = db
        self._tz = tz
        self._kept: dict[str, Lookup] = {}
        self._cache_cases = cache_cases if db.keeps_rows else 0
        self._forgotten = 0  # times the kept cases were dropped: a read older is not kept
        db.watch("cases", self.forget_all, guarded=(_KEPT_CHECK.sql,))

    def forget_all(self) -> None:
        self._kept.clear()
        self._forgotten += 1

    def kept_check(self, receipt: str, found: Lookup) -> tuple[Write, ...]:
        """What a turn that decides on `found` (`find(receipt)`) commits with its writes:
        the check that no other connection changed the case since it was kept."""
        return (_KEPT_CHECK,) if self._kept.get(receipt) is found else ()

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

    async def find(self, receipt: str) -> Lookup:
        """`lookup` with its outcome, kept in memory (module doc); `CaseLookupFailed` when
        the file cannot be read."""
        found = self._kept.get(receipt)
        if found is not None:
            return found
        forgotten = self._forgotten
        found = await self.refresh(receipt)
        # Kept only when nothing was dropped while it was read: a write committed meanwhile
        # may have come after the read.
        if forgotten == self._forgotten and self._cache_cases:
            keep_newest(self._kept, receipt, found, self._cache_cases)
        return found

    async def refresh(self, receipt: str) -> Lookup:
        """As `find`, read from the file."""
        record = await self.lookup(receipt)
        return Lookup(record, FOUND if record else NOT_FOUND)

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

    def upsert_rows(self, rows: Sequence[Sequence[object]], now: datetime) -> list[Write]:
        """Insert or update many cases, given as `CaseRecord.db_params()` tuples (an
        import's chunk): a few multi-row statements, committed together by the caller."""
        stamp = _stamp(now)
        writes = []
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            part = rows[start : start + ROWS_PER_STATEMENT]
            params = [value for row in part for value in (*row, stamp)]
            writes.append(Write(_upsert_many_sql(len(part)), params))
        return writes

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
