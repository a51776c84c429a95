"""Live case data, as pure rules: reading the USCIS Case Status API's answer into a
`CaseRecord`, rendering its HTML descriptions as plain text, telling what changed between
two looks at a case, and planning the watch list's polls within the daily quota.

No I/O here: the client (`bot/cases/uscis.py`) fetches, the watcher (`bot/cases/watch.py`)
polls and stores; they call these.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta
from typing import Any

from msgspec import Struct

from flows.case_records import SOURCE_LIVE, CaseRecord, HistoryEntry
from flows.receipts import check_receipt

USCIS_DATETIME = "%m-%d-%Y %H:%M:%S"  # `submittedDate`, `modifiedDate`


class BadAnswer(ValueError):
    """The API answered 200 with something that is not a case status."""


def parse_uscis_datetime(text: object) -> datetime | None:
    """`MM-DD-YYYY HH:mm:ss` (also without the time); None when absent or empty (online
    filings come without these dates)."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    for fmt in (USCIS_DATETIME, "%m-%d-%Y"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise BadAnswer(f"date {text!r} is not MM-DD-YYYY HH:mm:ss")


def parse_history_date(text: object) -> date | None:
    """A history step's date: ISO `YYYY-MM-DD` as the API sends it, or `MM-DD-YYYY`."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    at = parse_uscis_datetime(text)
    return at.date() if at else None


@functools.cache
def _text_parser() -> type[Any]:
    """An HTML parser that keeps the text and the line breaks (built on first use: a
    description with markup is rare, and `html.parser` compiles a dozen patterns)."""
    from html.parser import HTMLParser

    class TextOnly(HTMLParser):
        _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4"})

        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in self._BREAKS:
                self.parts.append("\n")

        def handle_endtag(self, tag: str) -> None:
            if tag in self._BREAKS:
                self.parts.append("\n")

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    return TextOnly


def plain_text(markup: object) -> str:
    """A description as plain text: tags dropped (a break or paragraph becomes a line
    break), entities decoded, runs of spaces folded."""
    if not isinstance(markup, str) or not markup:
        return ""
    if "<" in markup or "&" in markup:
        import html

        parser = _text_parser()()
        parser.feed(markup)
        parser.close()
        markup = html.unescape("".join(parser.parts))
    text = markup.replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def record_from_api(payload: Any, asked: str, checked_at: datetime) -> CaseRecord:
    """The case in a 200 answer of `GET /case-status/{receipt}`. `asked` is the
    normalised receipt asked for: kept as the record's number when the answer's own is
    absent or the same (so an IOE receipt keeps its leading zero even if a client or
    server treated it as a number)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("case_status"), dict):
        raise BadAnswer("no case_status object in the answer")
    case = payload["case_status"]
    given = str(case.get("receiptNumber") or asked).strip().upper()
    check = check_receipt(given)
    receipt = check.receipt.value if check.receipt else asked
    if receipt != asked and receipt.lstrip("0") != asked.lstrip("0"):
        receipt = asked  # the answer is for what was asked
    if given.isdigit() or len(receipt) < len(asked):
        receipt = asked
    title = " ".join(str(case.get("current_case_status_text_en") or "").split())
    if not title:
        raise BadAnswer("the answer has no current_case_status_text_en")
    submitted = parse_uscis_datetime(case.get("submittedDate"))
    modified = parse_uscis_datetime(case.get("modifiedDate"))
    history = []
    for item in case.get("hist_case_status") or ():
        if not isinstance(item, dict):
            continue
        on = parse_history_date(item.get("date"))
        text_en = " ".join(str(item.get("completed_text_en") or "").split())
        if on is None or not text_en:
            continue
        history.append(
            HistoryEntry(on, text_en, " ".join(str(item.get("completed_text_es") or "").split()))
        )
    history.sort(key=lambda h: h.on)
    changed_on = (
        modified.date()
        if modified
        else history[-1].on
        if history
        else submitted.date()
        if submitted
        else checked_at.date()
    )
    return CaseRecord(
        receipt_number=receipt,
        form_type=str(case.get("formType") or "").strip().upper() or "unknown",
        status_title=title,
        status_date=changed_on,
        status_description=plain_text(case.get("current_case_status_desc_en")),
        status_title_es=" ".join(str(case.get("current_case_status_text_es") or "").split()),
        status_description_es=plain_text(case.get("current_case_status_desc_es")),
        submitted_at=submitted,
        modified_at=modified,
        history=tuple(history),
        source=SOURCE_LIVE,
        checked_at=checked_at,
    )


def error_message(payload: Any) -> str:
    """The `message` USCIS asks clients to show, from `{"errors": [{"code", "message"}]}`
    (or a top-level `message`); empty when there is none."""
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or "")
        return str(payload.get("message") or "")
    return ""


# ---- what changed -------------------------------------------------------------------------


class Seen(Struct, frozen=True):
    """What a watcher last saw of a case: its title and the record's modified date."""

    title: str
    modified: datetime | None


CHANGE_STATUS = "status"  # the status title changed
CHANGE_UPDATED = "updated"  # same title, the record's modified date moved


def what_changed(before: Seen | None, now: CaseRecord) -> str | None:
    """`CHANGE_STATUS`, `CHANGE_UPDATED`, or None when nothing a watcher tells changed (or
    nothing was seen before: the first look is the baseline)."""
    if before is None:
        return None
    if " ".join(before.title.split()).casefold() != " ".join(now.status_title.split()).casefold():
        return CHANGE_STATUS
    # A modified date seen for the first time (a case first seen without one, as imported
    # cases and online filings come) is a baseline, not an update.
    if None not in (now.modified_at, before.modified) and now.modified_at != before.modified:
        return CHANGE_UPDATED
    return None


def recent_history(record: CaseRecord, count: int = 2) -> tuple[HistoryEntry, ...]:
    """The latest `count` steps, newest first (the status answer's "what changed")."""
    return tuple(reversed(record.history[-count:])) if count > 0 else ()


# ---- the watch list's poll plan -----------------------------------------------------------


class WatchPlan(Struct, frozen=True):
    """How the daily quota is spent on the watch list."""

    cases: int
    daily_quota: int
    watch_budget: int  # of the quota, what the watcher may use a day
    polls_per_case: int  # a day, per watched case (0: none can be polled)
    interval: timedelta | None  # between two polls of one case

    @property
    def polls_a_day(self) -> int:
        return self.polls_per_case * self.cases


def watch_plan(cases: int, daily_quota: int, watch_share: float, max_polls: int) -> WatchPlan:
    """Polls per watched case a day: the watcher's share of the quota spread evenly over
    the cases, at most `max_polls` a day each (a case rarely changes twice a day)."""
    budget = int(daily_quota * watch_share)
    per_case = min(max_polls, budget // cases) if cases else 0
    interval = timedelta(days=1) / per_case if per_case else None
    return WatchPlan(cases, daily_quota, budget, per_case, interval)


class Watched(Struct, frozen=True):
    """A watched case, as the watcher plans it: when it was last polled and changed."""

    receipt: str
    last_polled: datetime | None
    last_changed: datetime | None


def due_polls(watched: list[Watched], now: datetime, plan: WatchPlan, limit: int) -> list[str]:
    """The receipts to poll now: those never polled, or polled at least one interval ago;
    most recently changed first (a case that moved lately moves again soonest), never
    polled before any other; at most `limit`."""
    if plan.interval is None or limit <= 0:
        return []
    due = [w for w in watched if w.last_polled is None or now - w.last_polled >= plan.interval]
    oldest = datetime.min.replace(tzinfo=now.tzinfo)
    due.sort(
        key=lambda w: (
            w.last_polled is not None,
            -(w.last_changed or oldest).timestamp() if w.last_changed else float("inf"),
        )
    )
    return [w.receipt for w in due[:limit]]


# ---- the watch commands' words ------------------------------------------------------------

_LABEL = re.compile(r"[^\w\s\-'.,&()]+")
MAX_LABEL = 40
MAX_WATCHED = 20  # cases per person


def clean_label(text: str) -> str:
    """A label as kept: printable words, at most `MAX_LABEL` characters."""
    return " ".join(_LABEL.sub("", text).split())[:MAX_LABEL]


class WatchItem(Struct, frozen=True):
    """One case on an applicant's watch list, as `/cases` shows it."""

    receipt: str
    label: str
    form_type: str | None  # None until the case was looked up once
    status_title: str | None
    changed_on: date | None  # the date of the last change


# ---- a lookup's outcome (what the chain of case sources says) ------------------------------

FOUND = "found"
NOT_FOUND = "not_found"  # not on file (the local source)
NOT_ONLINE = "not_online"  # USCIS answered 404: mistyped, or a case not shown online
MALFORMED = "malformed"  # USCIS answered 422: the receipt is badly formed
UNAVAILABLE = "unavailable"  # nothing could answer, and nothing is known


class Lookup(Struct, frozen=True):
    record: CaseRecord | None
    outcome: str
    message: str = ""  # the API's own `message`, for the operator's log
