"""Case status lookups behind a small interface, so the local `cases` table can later be
joined by a live source (the USCIS Case Status API) without touching the dialogs."""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime, tzinfo
from typing import Protocol

from bot.storage.database import Database, StorageError
from flows.case_records import CaseRecord
from flows.privacy import mask_personal_data
from flows.receipts import ReceiptNumber

log = logging.getLogger(__name__)


class CaseLookupFailed(Exception):
    """The case source could not answer (down, refused, timed out); try again later."""


class CaseStatusProvider(Protocol):
    async def lookup(self, receipt: ReceiptNumber) -> CaseRecord | None:
        """The case on file for `receipt`, None when there is none, or `CaseLookupFailed`."""
        ...


class LocalCaseProvider:
    """Cases from the local `cases` table (imported with `tierline cases import`)."""

    def __init__(self, db: Database, tz: tzinfo) -> None:
        self._db = db
        self._tz = tz

    async def lookup(self, receipt: ReceiptNumber) -> CaseRecord | None:
        try:
            row = await self._db.fetchone(
                "SELECT * FROM cases WHERE receipt_number = ?", (receipt.value,)
            )
        except StorageError as exc:
            log.error("case lookup failed for %s: %s", mask_personal_data(receipt.value), exc)
            raise CaseLookupFailed(str(exc)) from exc
        return None if row is None else record_from_row(row, self._tz)


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
