"""A live chat with a Tier 1 operator, the pure part: the queue entry as data, how long the
wait is expected to be, when it has run out, how the operator is named to the applicant,
and how a chat that ends is recorded, by the rule that ended it.

The steps that run the chat are `flows.tier1_live`; the storage is `bot.storage.handoffs`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from msgspec import Struct

# Statuses of a queue entry: waiting for an operator, live with one, or ended (how).
WAITING, LIVE = "waiting", "live"
HANDED_BACK, RESOLVED, TIMED_OUT, LEFT = "handed_back", "resolved", "timed_out", "left"
OPEN = (WAITING, LIVE)
ENDED = (HANDED_BACK, RESOLVED, TIMED_OUT, LEFT)

APPLICANT, OPERATOR = "applicant", "operator"  # who sent a relayed message


class HandoffRule(StrEnum):
    JOINED = "handoff.joined"  # the applicant joined the operator queue
    NOT_LIVE = "handoff.not_live"  # outside live hours the operator is not offered
    NOT_YET = "handoff.not_yet"  # the assistant has not yet shown it cannot settle it
    ALREADY = "handoff.already_in_chat"
    KEPT = "handoff.message_kept"  # a message while waiting, kept for the operator
    RELAYED = "handoff.message_relayed"  # a message in the live chat, relayed
    NOT_TEXT = "handoff.not_text"  # a button from before the chat
    PICKED = "handoff.picked"
    HANDED_BACK = "handoff.handed_back"
    RESOLVED = "handoff.resolved"
    TIMED_OUT = "handoff.timed_out"
    SERVICE_REQUEST = "handoff.service_request"
    CALLBACK_BOOKED = "handoff.callback_booked"
    NO_CALLBACK_SLOT = "handoff.no_callback_slot"
    OPERATOR_URGENT = "urgency.operator"  # the operator rated the callback urgent


class Handoff(Struct, frozen=True):
    """A queue entry and, once picked up, its assignment to an operator."""

    reference: str
    channel: str
    user_id: str
    status: str
    came_from: str
    created_at: datetime
    issue: str | None = None
    receipt: str | None = None
    operator: str | None = None  # staff id
    picked_at: datetime | None = None
    ended_at: datetime | None = None
    end_rule: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


class RelayedMessage(Struct, frozen=True):
    id: int
    reference: str
    at: datetime
    sender: str  # APPLICANT | OPERATOR
    text: str
    staff_id: str | None = None


class OperatorName(Struct, frozen=True):
    """How one operator is named to applicants (`tier1.operators` in the settings)."""

    staff: str
    first_name: str | None = None
    number: int | None = None


class LiveChatPolicy(Struct, frozen=True):
    wait_minutes: int = 10  # nobody picked it up by then: back to the assistant
    minutes_per_person: int = 4  # the expected wait per person ahead, and oneself
    naming: Literal["number", "first_name"] = "number"
    operators: tuple[OperatorName, ...] = ()

    def named(self) -> Mapping[str, OperatorName]:
        return {o.staff: o for o in self.operators}


def expected_wait(position: int, policy: LiveChatPolicy) -> int:
    """Minutes the applicant at `position` (1 = next) can expect to wait."""
    return max(position, 1) * policy.minutes_per_person


def wait_ran_out(entry: Handoff, now: datetime, policy: LiveChatPolicy) -> bool:
    return entry.status == WAITING and now - entry.created_at >= timedelta(
        minutes=policy.wait_minutes
    )


def operator_number(staff_id: str, policy: LiveChatPolicy) -> int:
    """The operator's number: the one configured, else a stable three-digit number drawn
    from the staff id (never the id itself)."""
    entry = policy.named().get(staff_id)
    if entry is not None and entry.number is not None:
        return entry.number
    return 100 + zlib.crc32(staff_id.encode("utf-8")) % 900


def operator_label(staff_id: str, policy: LiveChatPolicy) -> tuple[str, dict[str, object]]:
    """The message key and values that name the operator to the applicant: a first name
    when configured so and one is known, else an operator number. Nothing else about the
    operator is ever shown."""
    entry = policy.named().get(staff_id)
    if policy.naming == "first_name" and entry is not None and entry.first_name:
        return "tier1.live_chat.name.first_name", {"first_name": entry.first_name}
    return "tier1.live_chat.name.number", {"number": operator_number(staff_id, policy)}


def closing_status(rule: str) -> str:
    """How a chat that ends is recorded, by the rule that ended it: anything but the
    operator's own actions and the wait running out means the applicant left."""
    return {
        HandoffRule.HANDED_BACK: HANDED_BACK,
        HandoffRule.RESOLVED: RESOLVED,
        HandoffRule.TIMED_OUT: TIMED_OUT,
    }.get(rule, LEFT)  # type: ignore[call-overload]
