"""Where every turn gets its time from: an injectable clock in the configured time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """Tells the current time as an aware datetime in the service's time zone."""

    tz: ZoneInfo

    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in `tz`."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FixedClock:
    """A clock that stands still until moved: for tests, demos and `--now`."""

    def __init__(self, at: datetime, tz: ZoneInfo) -> None:
        self.tz = tz
        self._at = at.replace(tzinfo=tz) if at.tzinfo is None else at.astimezone(tz)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.replace(tzinfo=self.tz) if at.tzinfo is None else at.astimezone(self.tz)

    def advance(self, delta: timedelta) -> None:
        self._at = self._at + delta
