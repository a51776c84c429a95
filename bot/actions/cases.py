"""Looking up a case for a loader: the one place a turn asks the case source, records that
it could not answer, and logs a missing case with the receipt masked."""

from __future__ import annotations

import logging

from bot.engine.turn import Turn
from bot.storage.cases import CaseLookupFailed
from flows.case_live import UNAVAILABLE
from flows.case_records import CaseRecord
from flows.privacy import mask_personal_data

log = logging.getLogger(__name__)


async def find_case(turn: Turn, receipt: str) -> CaseRecord | None:
    """The case on file for `receipt`; None when there is none or the source is down (then
    `turn.loaded.case_unavailable` is set, so a step can say so)."""
    cases = turn.ports.cases
    try:
        found = await cases.find(receipt)
    except CaseLookupFailed:
        turn.loaded.case_unavailable = True
        return None
    turn.write(*cases.kept_check(receipt, found))  # decided on a case kept in memory
    turn.loaded.case_outcome = found.outcome
    if found.outcome == UNAVAILABLE:
        turn.loaded.case_unavailable = True
    record = found.record
    if record is None:
        log.info("no case on file for %s", mask_personal_data(receipt))
    return record
