"""Loaders and effects of the automated tier (see `flows/automated.py` for its steps).

Loaders: the case a turn is about (`case`, through the case source `ports.cases`) and the
bookings of the support center the applicant is looking at (`biometrics_bookings`).
Effects: booking the chosen biometrics slot, and storing an in-person request.
"""

from __future__ import annotations

from bot.actions.cases import find_case
from bot.engine.program import Actions
from bot.engine.turn import Turn
from bot.storage.references import new_reference
from flows.automated_appointment import SUBMIT
from flows.automated_biometrics import BOOK, BOOKINGS, bookings_site, chosen_slot
from flows.automated_status import CASE, receipt_wanted


async def load_case(turn: Turn) -> None:
    receipt = receipt_wanted(turn.answer, turn.state)
    if receipt is not None:
        turn.loaded.case = await find_case(turn, receipt)


async def load_bookings(turn: Turn) -> None:
    site = bookings_site(turn.facts())
    turn.loaded.biometrics_booked = await turn.ports.biometrics.booked(site.id, turn.now)


async def book_biometrics(turn: Turn) -> None:
    """Book the pressed slot and move the case's appointment to it, in the turn's commit;
    a slot filled meanwhile, or a case rescheduled meanwhile, makes the turn run again."""
    facts = turn.facts()
    site, at = chosen_slot(facts)
    record, receipt = turn.loaded.case, turn.state.receipt
    assert record is not None and receipt is not None  # the route's guard saw both
    turn.write(
        *turn.ports.biometrics.book(
            receipt,
            site.id,
            at,
            capacity=site.capacity,
            good_cause=turn.state.biometrics.cause or "",
            key=turn.key,
            now=turn.now,
        ),
        turn.ports.cases.rescheduled_biometrics(
            receipt, at, site.id, record.biometrics_reschedules, turn.now
        ),
    )


async def submit_request(turn: Turn) -> None:
    """Store the request pending review under a new reference (kept in the state, which the
    submitted step shows)."""
    request = turn.state.request
    reference = new_reference("APR", turn.now.date())
    turn.write(
        turn.ports.requests.submit(
            reference,
            turn.key,
            request_type=request.type or "",
            identifier=request.identifier or "",
            reason=request.reason or "",
            preferred_date=request.preferred,
            now=turn.now,
            phone=request.phone,
            zip_code=request.zip,
        )
    )
    turn.state = turn.state.but(request=request.but(reference=reference))


ACTIONS = Actions(
    loaders={CASE: load_case, BOOKINGS: load_bookings},
    effects={BOOK: book_biometrics, SUBMIT: submit_request},
)
