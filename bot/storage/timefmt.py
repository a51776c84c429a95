"""How instants are stored: UTC ISO-8601 text, so that SQL string comparison is time order."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


@lru_cache(maxsize=64)  # a turn stores its one instant in several rows
def to_db(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetimes are not stored; attach the configured time zone")
    return at.astimezone(UTC).isoformat(timespec="seconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)
