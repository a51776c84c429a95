"""Loaders and effects of Tier 1 (see `flows/tier1.py` for its steps): the case on file,
and opening a service request."""

from __future__ import annotations

from bot.actions.cases import find_case
from bot.engine.program import Actions
from bot.engine.turn import Turn
from bot.storage.references import new_service_item
from flows.steps import Say
from flows.tier1 import CASE_ON_FILE, Tier1Effect
from flows.triage import TriageRule, qualified


async def load_case_on_file(turn: Turn) -> None:
    """The case of the receipt looked up earlier in the conversation, if any."""
    if turn.state.receipt:
        # When the source is down, triage goes on without it: no case on screen.
        turn.loaded.case_on_file = await find_case(turn, turn.state.receipt)


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
