"""The chain of case sources behind the `Cases` port when `case_source = "uscis"`: a
recent cached answer, then the USCIS Case Status API, then the imported cases. Every
record says where it came from (`source`) and when it was checked (`checked_at`).

When the API cannot answer (down, closed outside business hours, out of quota, refusing
the credentials), the last answer it gave is returned as "last known" with its date; an
imported case comes next; only when nothing at all is known is the lookup "unavailable".
A 404 is "not shown online" (the applicant is offered a person), a 422 "malformed".
Imports, listings and biometrics writes go to the imported cases, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from msgspec.structs import replace

from bot.cases.uscis import UscisClient, UscisMalformed, UscisNotFound, UscisUnavailable
from bot.config import Settings
from bot.storage.cases import CaseLookupFailed, SqliteCases
from bot.storage.database import Database, StorageError, Write
from bot.storage.ports import LiveCases
from flows.case_live import FOUND, MALFORMED, NOT_ONLINE, UNAVAILABLE, Lookup
from flows.case_records import SOURCE_LAST_KNOWN, CaseRecord
from flows.privacy import mask_personal_data

log = logging.getLogger(__name__)


class CaseChain:
    def __init__(
        self,
        imported: SqliteCases,
        live: LiveCases,
        client: UscisClient,
        db: Database,
        now: Callable[[], datetime],
        cache_minutes: int,
    ) -> None:
        self.imported = imported
        self.live = live
        self.client = client
        self._db = db
        self._now = now
        self._fresh = timedelta(minutes=cache_minutes)

    async def lookup(self, receipt: str) -> CaseRecord | None:
        found = await self.find(receipt)
        if found.outcome == UNAVAILABLE:
            raise CaseLookupFailed("no case source could answer")
        return found.record

    async def find(self, receipt: str) -> Lookup:
        try:
            cached = await self.live.cached(receipt)
        except StorageError:
            cached = None
        if (
            cached is not None
            and cached.checked_at
            and self._now() - cached.checked_at < self._fresh
        ):
            return Lookup(cached, FOUND)  # the imported case's fields come with it
        return await self._ask(receipt, cached)

    async def refresh(self, receipt: str) -> Lookup:
        try:
            cached = await self.live.cached(receipt)
        except StorageError:
            cached = None
        return await self._ask(receipt, cached)

    def kept_check(self, receipt: str, found: Lookup) -> tuple[Write, ...]:
        return ()  # nothing of the chain's answers is kept in memory (each reads the cache)

    async def _ask(self, receipt: str, cached: CaseRecord | None) -> Lookup:
        try:
            record = await self.client.case_status(receipt)
        except UscisNotFound as exc:
            log.info("USCIS shows no case online for %s", mask_personal_data(receipt))
            imported = await self._imported(receipt)
            if imported is not None:
                return Lookup(imported, FOUND, exc.message)
            return Lookup(None, NOT_ONLINE, exc.message)
        except UscisMalformed as exc:
            return Lookup(None, MALFORMED, exc.message)
        except UscisUnavailable as exc:
            if cached is not None:
                last = replace(cached, source=SOURCE_LAST_KNOWN)
                return Lookup(last, FOUND, exc.message)
            imported = await self._imported(receipt)
            if imported is not None:
                return Lookup(imported, FOUND, exc.message)
            return Lookup(None, UNAVAILABLE, exc.message)
        try:
            await self._db.commit([self.live.store(record)])
        except StorageError as exc:  # the answer is still good to give
            log.warning("could not keep a USCIS answer: %s", exc)
        return Lookup(await self._with_imported(record), FOUND)

    async def _imported(self, receipt: str) -> CaseRecord | None:
        """The imported case, marked as checked now: the answer then says it is from the
        records on file, not from USCIS."""
        try:
            record = await self.imported.lookup(receipt)
        except CaseLookupFailed:
            return None
        return None if record is None else replace(record, checked_at=self._now())

    async def _with_imported(self, record: CaseRecord) -> CaseRecord:
        """The live record, with what only the local file knows (ZIP code, biometrics
        appointment) when the case was imported too."""
        local = await self._imported(record.receipt_number)
        if local is None:
            return record
        return replace(
            record,
            zip_code=local.zip_code,
            biometrics_at=local.biometrics_at,
            biometrics_site=local.biometrics_site,
            biometrics_reschedules=local.biometrics_reschedules,
        )

    # ---- the imported cases: as before -----------------------------------------------------

    async def any(self) -> bool:
        return await self.imported.any()

    async def count(self) -> int:
        return await self.imported.count()

    async def listing(self, limit: int | None = None) -> list[CaseRecord]:
        return await self.imported.listing(limit)

    def upsert(self, record: CaseRecord, now: datetime) -> Write:
        return self.imported.upsert(record, now)

    def upsert_rows(self, rows: Sequence[Sequence[object]], now: datetime) -> list[Write]:
        return self.imported.upsert_rows(rows, now)

    def insert_new(self, record: CaseRecord, now: datetime) -> Write:
        return self.imported.insert_new(record, now)

    def rescheduled_biometrics(
        self, receipt: str, at: datetime, site_id: str, prior_reschedules: int, now: datetime
    ) -> Write:
        return self.imported.rescheduled_biometrics(receipt, at, site_id, prior_reschedules, now)


def uscis_chain(
    imported: SqliteCases,
    live: LiveCases,
    db: Database,
    settings: Settings,
    now: Callable[[], datetime],
) -> CaseChain:
    """The chain for `settings` (`case_source = "uscis"`, credentials checked on load)."""
    client = UscisClient(settings.uscis, live, db, now)
    return CaseChain(imported, live, client, db, now, settings.uscis.cache_minutes)
