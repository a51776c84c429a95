"""Everything an applicant has with the Contact Center, as data, and what each item allows.

"My requests" (`/mine`) lists officer callbacks, in-person appointment requests,
field-office appointments, service requests and biometrics bookings. Which of them can be
moved or cancelled, and which are past, are the pure rules here; the listing is read
through one storage port (`bot.storage.mine`) and shown by the `tier2.mine` step.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Literal

from msgspec import Struct

Kind = Literal["callback", "request", "visit", "service", "biometrics"]
KINDS: tuple[Kind, ...] = ("callback", "request", "visit", "service", "biometrics")


class MineRule(StrEnum):
    SHOWN = "mine.shown"
    SHOWN_IN_PLACE = "mine.shown_in_place"


class MyItem(Struct, frozen=True):
    """One thing the applicant has in flight, or had.

    `at`: when it happens (the call, the visit, the biometrics appointment), None for what
    has no time (a request pending review, a service request). `detail`: what it is about,
    as an id from configuration (the request type, the office, the issue, the site).
    """

    kind: Kind
    reference: str
    status: str
    created_at: datetime
    at: datetime | None = None
    detail: str = ""
    phone: str = ""  # the number an officer calls (E.164), for a callback


# Statuses after which nothing more happens to an item.
_FINISHED = {
    "callback": {"resolved", "appointment", "closed", "cancelled"},
    "request": {"resolved", "scheduled", "closed"},
}


def is_past(item: MyItem, now: datetime) -> bool:
    """Whether the item is behind the applicant: its time has passed, or it is finished."""
    if item.status in _FINISHED.get(item.kind, set()):
        return True
    return item.at is not None and item.at < now


def allows(item: MyItem, now: datetime) -> tuple[str, ...]:
    """What the applicant may do with the item here: a booked callback that is still ahead
    can be moved or cancelled; everything else is in staff hands or over."""
    if item.kind == "callback" and item.status == "booked" and not is_past(item, now):
        return ("move", "cancel")
    return ()


def in_order(items: Iterable[MyItem], now: datetime) -> list[MyItem]:
    """What is still ahead first (soonest first, then by kind), then what is past (latest
    first)."""
    items = list(items)
    ahead = [i for i in items if not is_past(i, now)]
    past = [i for i in items if is_past(i, now)]
    ahead.sort(key=lambda i: (i.at is None, i.at or i.created_at, KINDS.index(i.kind)))
    past.sort(key=lambda i: i.at or i.created_at, reverse=True)
    return ahead + past


# The statuses each kind of item can have, as stored; anything else is said as it is.
_STATUSES = {
    "callback": {"booked", "taken", "resolved", "appointment", "closed"},
    "request": {"pending_review", "in_review", "resolved", "scheduled", "closed"},
    "visit": {"booked"},
    "service": {"open"},
    "biometrics": {"booked"},
}


def status_key(item: MyItem, now: datetime) -> str:
    """The catalogue key that says where the item stands (`mine.status.*`)."""
    if item.status not in _STATUSES.get(item.kind, set()):
        return "mine.status.other"
    passed = item.status == "booked" and item.at is not None and item.at < now
    return f"mine.status.{item.kind}_{item.status}" + ("_past" if passed else "")
