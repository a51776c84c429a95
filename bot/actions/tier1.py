"""Loaders and effects of Tier 1 (see `flows/tier1.py` for its steps): the case on file,
and opening a service request."""

from __future__ import annotations

from bot.actions.cases import find_case
from bot.engine.program import Actions
from bot.engine.turn import Turn
from bot.storage.references import new_service_item
from flows.desk import sla_due
from flows.steps import Say
from flows.tier1 import CASE_ON_FILE, Tier1Effect
from flows.triage import TriageRule, qualified, rate_urgency


async def load_case_on_file(turn: Turn) -> None:
    """The case of the receipt looked up earlier in the conversation, if any."""
    if turn.state.receipt:
        # When the source is down, triage goes on without it: no case on screen.
        turn.loaded.case_on_file = await find_case(turn, turn.state.receipt)


async def open_service_request(turn: Turn) -> None:
    """Open the request in the staff queue, with who is asking and its urgency; tell the
    applicant its number and that the answer comes back here (no case on file: have the
    receipt number ready)."""
    triage = turn.state.triage
    issue = triage.issue if triage else None
    assert triage is not None and issue is not None  # the route's guard recorded it
    number = new_service_item()
    rule = qualified(TriageRule.SERVICE_REQUEST, issue)
    policy = turn.services.policy
    found = policy.knowledge.issue(issue)
    urgency = rate_urgency(
        bool(found and found.emergency), None, issue if found and found.urgent else None
    )
    receipt = turn.state.receipt
    turn.write(
        turn.ports.service_requests.open(
            number,
            turn.key,
            issue,
            receipt,
            rule,
            turn.now,
            role=triage.role,
            urgent=urgency.urgent,
            urgency_rule=urgency.rule,
        )
    )
    due = sla_due(turn.now, urgency.urgent, policy.callbacks)
    if receipt:
        said = Say("tier1.service_request.opened", {"number": number, "receipt": receipt})
    else:
        said = Say("tier1.service_request.opened_no_case", {"number": number})
    turn.say(said)
    turn.say(Say("tier1.service_request.when", {"due": due.date()}))


ACTIONS = Actions(
    loaders={CASE_ON_FILE: load_case_on_file},
    effects={Tier1Effect.OPEN_SERVICE_REQUEST: open_service_request},
)
