"""Trainer mode's simulated officer: a ticker that completes every callback whose time has
passed, by the same desk a staff member uses: a visit when it was judged justified, the
biometrics appointment moved when that is the issue (and the case is known), else by
phone. A callback a person has taken is left to them.

It lives with the desk, and the assembly registers it (`bot.assembly`), because the tiers'
actions may not import the staff package.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.staff.desk import DeskError, StaffDesk
from flows.desk import BIOMETRICS_CATEGORY

if TYPE_CHECKING:
    from bot.engine.services import Services

log = logging.getLogger(__name__)

SIMULATED_OFFICER = "simulated-officer"


async def simulated_officer_calls(services: Services, now: datetime) -> None:
    """Registered only when `tier2.simulate_officer` is on (see `bot.assembly`)."""
    desk = StaffDesk.of(services)
    for callback in await services.ports.callbacks.queue(until=now):
        if callback.taken_by and callback.taken_by != SIMULATED_OFFICER:
            continue  # a person is on it
        outcome = "appointment" if callback.inperson_justified else "resolved"
        if callback.issue == BIOMETRICS_CATEGORY and callback.receipt:
            outcome = "biometrics"
        try:
            await desk.complete(callback.reference, outcome, None, SIMULATED_OFFICER, now)
        except DeskError as exc:
            log.warning("simulated officer could not complete a callback: %s", exc)
