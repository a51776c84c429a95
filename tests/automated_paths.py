"""Ways to walk a conversation to each automated state, shared by the flow tests."""

from __future__ import annotations

from tests.conftest import Chat

ELIGIBLE = "LIN2210054321"  # biometrics 2030-03-12 09:00 at nyc, never rescheduled
PHONE, ZIP = "(315) 555-0187", "13202"  # an in-person request's contact: Syracuse, NY


async def to_biometrics_slots(chat: Chat, receipt: str = ELIGIBLE) -> None:
    await chat.send("/start")
    await chat.press("go:biometrics")
    await chat.send(receipt)
    await chat.press("bio:cause:illness")


async def to_biometrics_times(chat: Chat, receipt: str = ELIGIBLE, *, day: int = 0) -> None:
    """On to the free times of the `day`-th day offered."""
    await to_biometrics_slots(chat, receipt)
    await chat.press([b for b in chat.buttons if b.startswith("bio:day:")][day])


async def to_appointment_checklist(chat: Chat) -> None:
    await chat.send("/start")
    await chat.press("go:appointment")
    await chat.press("apr:type:adit")
    await chat.send("A12345678")
    await chat.send("I need proof of status for a new job that starts soon")


async def _menu(chat: Chat) -> None:
    await chat.send("/start")


async def _status_ask(chat: Chat) -> None:
    await _menu(chat)
    await chat.press("go:status")


async def _status_answered(chat: Chat) -> None:
    await _menu(chat)
    await chat.send("EAC2190000001")


async def _bio_reason(chat: Chat) -> None:
    await _menu(chat)
    await chat.press("go:biometrics")
    await chat.send(ELIGIBLE)


async def _bio_slot(chat: Chat) -> None:
    await to_biometrics_slots(chat)


async def _bio_site(chat: Chat) -> None:
    await to_biometrics_slots(chat)
    await chat.press("bio:sites")


async def _bio_time(chat: Chat) -> None:
    await to_biometrics_times(chat)


async def _bio_booked(chat: Chat) -> None:
    await to_biometrics_times(chat)
    await chat.press(next(b for b in chat.buttons if b.startswith("bio:slot:")))


async def _apr_type(chat: Chat) -> None:
    await _menu(chat)
    await chat.press("go:appointment")


async def _apr_phone(chat: Chat) -> None:
    await to_appointment_checklist(chat)
    await chat.press("apr:docs:yes")


async def _apr_zip(chat: Chat) -> None:
    await _apr_phone(chat)
    await chat.send(PHONE)


async def _apr_date(chat: Chat) -> None:
    await _apr_zip(chat)
    await chat.send(ZIP)


async def _apr_submitted(chat: Chat) -> None:
    await _apr_date(chat)
    await chat.press("apr:date:skip")


async def _info(chat: Chat) -> None:
    await _menu(chat)
    await chat.press("go:info")


WALK_TO = {
    "automated.menu": _menu,
    "automated.status.ask_receipt": _status_ask,
    "automated.status.answered": _status_answered,
    "automated.biometrics.ask_reason": _bio_reason,
    "automated.biometrics.choose_slot": _bio_slot,
    "automated.biometrics.choose_time": _bio_time,
    "automated.biometrics.choose_site": _bio_site,
    "automated.biometrics.booked": _bio_booked,
    "automated.appointment.choose_type": _apr_type,
    "automated.appointment.checklist": to_appointment_checklist,
    "automated.appointment.ask_phone": _apr_phone,
    "automated.appointment.ask_zip": _apr_zip,
    "automated.appointment.ask_date": _apr_date,
    "automated.appointment.submitted": _apr_submitted,
    "automated.info": _info,
}
