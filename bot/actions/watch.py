"""The watch list's loader and effects (`flows/watch_list.py`), and the watcher: a ticker
inside the running bot that polls each watched case within the daily quota and queues an
alert in the durable outbox when a case changed (its status, or the record's modified
date with the same status).

An alert and "what this applicant was last told" are written in one commit, so a change
is told exactly once, also across a restart. The first poll of a case only records what
it is (the applicant saw it when adding it).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot.actions.cases import find_case
from bot.engine.program import Actions
from bot.engine.turn import Turn
from bot.storage.cases import CaseLookupFailed
from bot.storage.database import Conflict, StorageError
from bot.text import in_every_language
from flows.case_live import (
    CHANGE_STATUS,
    FOUND,
    UNAVAILABLE,
    Seen,
    due_polls,
    watch_plan,
    what_changed,
)
from flows.case_records import SOURCE_LAST_KNOWN
from flows.privacy import mask_personal_data
from flows.steps import Say, Supplied
from flows.watch_list import (
    PAUSE,
    RESUME,
    UNWATCH,
    WATCH,
    WATCH_CASE,
    WATCH_LIST,
    watch_request,
    watched_receipt,
)

if TYPE_CHECKING:
    from bot.engine.services import Services

log = logging.getLogger(__name__)

ALERT_KIND = "case_alert"  # the outbox kind of an alert


async def load_watch_list(turn: Turn) -> None:
    turn.loaded.watch_list = tuple(await turn.ports.watches.of(turn.key))
    turn.loaded.alerts_paused = await turn.ports.watches.paused(turn.key)


async def load_watched_case(turn: Turn) -> None:
    receipt = watched_receipt(turn.facts())
    if receipt is not None:
        turn.loaded.case = await find_case(turn, receipt)


async def watch(turn: Turn) -> None:
    request = watch_request(turn.answer.text)
    receipt = watched_receipt(turn.facts())
    assert request is not None and receipt is not None  # the route's guard saw both
    case = turn.loaded.case
    seen = Seen(case.status_title, case.modified_at) if case else None
    turn.write(turn.ports.watches.watch(turn.key, receipt, request.label, seen, turn.now))


async def unwatch(turn: Turn) -> None:
    receipt = watched_receipt(turn.facts())
    assert receipt is not None
    turn.write(turn.ports.watches.unwatch(turn.key, receipt))


async def pause(turn: Turn) -> None:
    turn.write(turn.ports.watches.pause(turn.key, turn.now))


async def resume(turn: Turn) -> None:
    turn.write(turn.ports.watches.resume(turn.key))


async def watch_cases(services: Services, now: datetime) -> None:
    """Poll the watched cases that are due (see `flows.case_live.due_polls`). A database
    or case-source failure is logged and left to the next run: nothing was told."""
    try:
        await _poll_due(services, now)
    except (StorageError, Conflict, CaseLookupFailed) as exc:
        log.warning("the watch list could not be polled now: %s", exc)


async def _poll_due(services: Services, now: datetime) -> None:
    ports, uscis = services.ports, services.settings.uscis
    watched = await ports.watches.watched()
    if not watched:
        return
    plan = watch_plan(
        len(watched), uscis.daily_quota, uscis.watch_share, uscis.watch_max_polls_per_day
    )
    last_polled = {w.receipt: w.last_polled for w in watched}
    for receipt in due_polls(watched, now, plan, uscis.watch_batch):
        found = await ports.cases.refresh(receipt)
        record = found.record
        if found.outcome == UNAVAILABLE or (record and record.source == SOURCE_LAST_KNOWN):
            return  # the source cannot answer now: the next run tries again
        writes = []
        changed = None
        if found.outcome == FOUND and record is not None:
            for watcher in await ports.watches.watchers(receipt):
                change = what_changed(watcher.seen, record)
                seen = Seen(record.status_title, record.modified_at)
                if watcher.seen != seen:
                    writes.append(ports.watches.seen(watcher.key, receipt, seen))
                if change is None:
                    continue
                changed = now
                if watcher.paused:
                    continue
                key = "watch.alert.status" if change == CHANGE_STATUS else "watch.alert.updated"
                params = {
                    "receipt": receipt,
                    "label": Say("watch.label", {"label": watcher.label}) if watcher.label else "",
                    "title": Supplied(record.status_title, record.status_title_es),
                    "before": watcher.seen.title if watcher.seen else "",
                    "date": record.status_date,
                    "form": record.form_type,
                }
                # Written in every language: it goes out in the watcher's language then.
                message = in_every_language(services.messages, Say(key, params))
                writes.append(ports.outbox.enqueue(watcher.key, ALERT_KIND, message, now=now))
                log.info("case alert queued for %s", mask_personal_data(receipt))
        # Kept only if nobody (another process) polled the case since it was read.
        writes.append(ports.watches.polled(receipt, now, changed, last_polled[receipt]))
        await ports.db.commit(writes)


ACTIONS = Actions(
    loaders={WATCH_LIST: load_watch_list, WATCH_CASE: load_watched_case},
    effects={WATCH: watch, UNWATCH: unwatch, PAUSE: pause, RESUME: resume},
    tickers=(watch_cases,),
)
