"""Loaders and effects of Tier 1 (see `flows/tier1.py` for its steps): the case on file,
and opening a service request."""

from __future__ import annotations

import logging

from bot.engine.program import Actions
from bot.engine.turn import Turn
from bot.storage.cases import CaseLookupFailed
from bot.storage.service_requests import new_service_item
from flows.steps import Say
from flows.tier1 import CASE_ON_FILE, Tier1Effect
from flows.triage import TriageRule, qualified

log = logging.getLogger(__name__)


async def load_case_on_file(turn: Turn) -> None:
    """The case of the receipt looked up earlier in the conversation, if any."""
    receipt = turn.state.receipt
    if not receipt:
        return
    try:
        turn.loaded.case_on_file = await turn.ports.cases.lookup(receipt)
    except CaseLookupFailed:
        # Triage goes on without it: the operator simply has no case on screen.
        turn.loaded.case_unavailable = True


async def open_service_request(turn: Turn) -> None:
    issue = turn.state.triage.issue if turn.state.triage else None
    assert issue is not None  # the route's guard recorded it
    number = new_service_item()
    rule = qualified(TriageRule.SERVICE_REQUEST, issue)
    turn.write(
        turn.ports.service_requests.open(
            number, turn.key, issue, turn.state.receipt, rule, turn.now
        )
    )
    turn.say(Say("tier1.service_request.opened", {"number": number}))


ACTIONS = Actions(
    loaders={CASE_ON_FILE: load_case_on_file},
    effects={Tier1Effect.OPEN_SERVICE_REQUEST: open_service_request},
)
