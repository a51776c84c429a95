"""Appointment slots inside a day's opening window: one rule for every kind of slot
(biometrics at a support center, officer callbacks, field-office visits)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo


def day_slots(
    day: date, opens: time, closes: time, minutes: int, tz: tzinfo | None
) -> list[datetime]:
    """Every slot start on `day` from `opens`, `minutes` apart, whose slot ends by `closes`."""
    step = timedelta(minutes=minutes)
    start = datetime.combine(day, opens, tzinfo=tz)
    close = datetime.combine(day, closes, tzinfo=tz)
    out = []
    while start + step <= close:
        out.append(start)
        start += step
    return out
