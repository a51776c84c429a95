"""The watch list: several cases per applicant (a household), each with a label, and an
alert when one changes (sent by the watcher inside the running bot, `bot/actions/watch.py`).

Commands, answered in place wherever the conversation is:
- `/watch RECEIPT [label]`: add a case (or relabel one already on the list); the receipt
  is read before anything is asked (a wrong shape is refused, no quota spent);
- `/cases`: the list with form type, status, date of the last change and label;
- `/unwatch RECEIPT`: take a case off the list;
- `/alerts off` / `/alerts on`: pause or resume the alerts.
"""

from __future__ import annotations

from enum import StrEnum

from msgspec import Struct

from flows.automated_common import refuse_receipt
from flows.case_live import MAX_WATCHED, NOT_ONLINE, clean_label
from flows.facts import Facts
from flows.receipts import ReceiptCheck, check_receipt
from flows.steps import Command, Decision, Say, Supplied, decide, refuse, say, stay

WATCH_LIST = "watch_list"  # the facts loaded: `Loaded.watch_list`, `Loaded.alerts_paused`
WATCH_CASE = "watch_case"  # the case of `/watch RECEIPT`, into `Loaded.case` (when well formed)
WATCH = "watch.add"  # effects
UNWATCH = "watch.remove"
PAUSE = "watch.pause"
RESUME = "watch.resume"


class WatchRule(StrEnum):
    USAGE = "watch.usage"
    ADDED = "watch.added"
    RELABELLED = "watch.relabelled"
    FULL = "watch.list_full"
    NOT_ONLINE = "watch.not_shown_online"
    NOT_FOUND = "watch.case_not_found"
    LISTED = "watch.listed"
    EMPTY = "watch.list_empty"
    REMOVED = "watch.removed"
    NOT_WATCHED = "watch.not_watched"
    PAUSED = "watch.alerts_paused"
    RESUMED = "watch.alerts_resumed"
    ALERTS_USAGE = "watch.alerts_usage"


class WatchRequest(Struct, frozen=True):
    check: ReceiptCheck
    label: str


def watch_request(text: str) -> WatchRequest | None:
    """The receipt and label of `/watch RECEIPT [label]` (the command's words); None when
    no receipt was given. The receipt is the first word, or the first two when they make
    one (``IOE 0912345678``); the label is what follows."""
    words = text.split()
    if not words:
        return None
    if len(words) > 1:
        two = check_receipt(f"{words[0]} {words[1]}")
        if two.receipt is not None:
            return WatchRequest(two, clean_label(" ".join(words[2:])))
    return WatchRequest(check_receipt(words[0]), clean_label(" ".join(words[1:])))


def watched_receipt(f: Facts) -> str | None:
    """The normalised receipt of a well-formed `/watch` or `/unwatch` (for the loader and
    the effects); None when there is none, so nothing is asked of any source."""
    request = watch_request(f.answer.text)
    return request.check.receipt.value if request and request.check.receipt else None


def _on_list(f: Facts, receipt: str) -> bool:
    return any(item.receipt == receipt for item in f.loaded.watch_list)


def _watch(f: Facts) -> Decision:
    request = watch_request(f.answer.text)
    if request is None:
        return refuse(WatchRule.USAGE, "watch.usage")
    if request.check.receipt is None:
        return refuse_receipt(request.check)
    receipt = request.check.receipt.value
    listed = _on_list(f, receipt)
    if listed:
        return decide(
            WatchRule.RELABELLED, say("watch.relabelled", receipt=receipt, label=request.label)
        )
    if len(f.loaded.watch_list) >= MAX_WATCHED:
        return refuse(WatchRule.FULL, "watch.full", most=MAX_WATCHED)
    case = f.loaded.case
    if case is None and f.loaded.case_outcome == NOT_ONLINE:
        return refuse(WatchRule.NOT_ONLINE, "watch.not_online", receipt=receipt)
    if case is None and not f.loaded.case_unavailable:
        return refuse(WatchRule.NOT_FOUND, "watch.not_found", receipt=receipt)
    status: Say = (
        say(
            "watch.status",
            title=Supplied(case.status_title, case.status_title_es),
            date=case.status_date,
        )
        if case
        else say("watch.status_unknown")
    )
    return decide(
        WatchRule.ADDED,
        say("watch.added", receipt=receipt, label=request.label or "-", status=status),
    )


def _unwatch(f: Facts) -> Decision:
    request = watch_request(f.answer.text)
    if request is None:
        return refuse(WatchRule.USAGE, "watch.unwatch_usage")
    if request.check.receipt is None:
        return refuse_receipt(request.check)
    receipt = request.check.receipt.value
    if not _on_list(f, receipt):
        return refuse(WatchRule.NOT_WATCHED, "watch.not_watched", receipt=receipt)
    return decide(WatchRule.REMOVED, say("watch.removed", receipt=receipt))


def _listing(f: Facts) -> Decision:
    if not f.loaded.watch_list:
        return decide(WatchRule.EMPTY, say("watch.empty"))
    says = [say("watch.list_head", count=len(f.loaded.watch_list))]
    for item in f.loaded.watch_list:
        label = say("watch.label", label=item.label) if item.label else ""
        if item.status_title is None:
            says.append(say("watch.item_unknown", receipt=item.receipt, label=label))
        else:
            says.append(
                say(
                    "watch.item",
                    receipt=item.receipt,
                    label=label,
                    form=item.form_type,
                    title=item.status_title,
                    date=item.changed_on,
                )
            )
    says.append(say("watch.paused_note" if f.loaded.alerts_paused else "watch.alerts_note"))
    return decide(WatchRule.LISTED, *says)


def alerts_wanted(text: str) -> bool | None:
    """`/alerts on` (True), `/alerts off` (False), anything else None."""
    word = text.strip().lower()
    return {"on": True, "off": False, "resume": True, "pause": False}.get(word)


def _alerts(f: Facts) -> Decision:
    wanted = alerts_wanted(f.answer.text)
    if wanted is None:
        return refuse(WatchRule.ALERTS_USAGE, "watch.alerts_usage")
    if wanted:
        return decide(WatchRule.RESUMED, say("watch.resumed"))
    return decide(WatchRule.PAUSED, say("watch.paused"))


WATCH_COMMAND = Command(
    "watch",
    (
        stay(
            lambda f: _watch(f) if _watch(f).rule == WatchRule.ADDED else None,
            "A case was added to the applicant's watch list.",
            needs=(WATCH_CASE, WATCH_LIST),
            effect=WATCH,
        ),
        stay(
            lambda f: _watch(f) if _watch(f).rule == WatchRule.RELABELLED else None,
            "A watched case was given a new label.",
            needs=(WATCH_CASE, WATCH_LIST),
            effect=WATCH,
        ),
        stay(_watch, "A /watch that adds nothing: why.", needs=(WATCH_CASE, WATCH_LIST)),
    ),
    "Watch a case and get an alert when it changes: /watch RECEIPT [label].",
)

UNWATCH_COMMAND = Command(
    "unwatch",
    (
        stay(
            lambda f: _unwatch(f) if _unwatch(f).rule == WatchRule.REMOVED else None,
            "A case was taken off the watch list.",
            needs=(WATCH_LIST,),
            effect=UNWATCH,
        ),
        stay(_unwatch, "An /unwatch that removes nothing: why.", needs=(WATCH_LIST,)),
    ),
    "Stop watching a case: /unwatch RECEIPT.",
)

CASES_COMMAND = Command(
    "cases",
    (stay(_listing, "The applicant's watch list was shown.", needs=(WATCH_LIST,)),),
    "The cases you watch: form, status, date of the last change, label.",
)

ALERTS_COMMAND = Command(
    "alerts",
    (
        stay(
            lambda f: _alerts(f) if alerts_wanted(f.answer.text) is False else None,
            "The applicant paused the alerts of their watch list.",
            effect=PAUSE,
        ),
        stay(
            lambda f: _alerts(f) if alerts_wanted(f.answer.text) is True else None,
            "The applicant resumed the alerts of their watch list.",
            effect=RESUME,
        ),
        stay(_alerts, "/alerts without on or off: how to use it."),
    ),
    "Pause or resume the alerts of your watch list: /alerts off, /alerts on.",
)

COMMANDS = (WATCH_COMMAND, UNWATCH_COMMAND, CASES_COMMAND, ALERTS_COMMAND)
