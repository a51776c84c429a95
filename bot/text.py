"""Turning declared sentences into text: the catalogue, and one formatter per date style.

Steps in `flows/` say *what* to show (`Say(key, params)`, `Choice(kind, label)`); this
module says *how*: catalogue texts filled with their placeholders, and every date and time
written in one house style wherever it appears (a reply, a button, a notice, a staff
screen): "Tuesday, November 24, 2026, 10:30 a.m." (long), "Tue Nov 24, 10:30 a.m."
(short, on buttons), "November 24, 2026" (a day), "Tue Nov 24" (a day on a button),
"Monday, January 4" (a day named with its weekday) and "8:00 a.m." (a time of day, such as
opening hours from configuration). A placeholder may itself be a `Say` (an explanation
named by a rule), rendered first.

Every formatter takes the locale of the catalogue it writes for (`Catalogue.language`):
month and day names come from Babel's CLDR data ("martes, 24 de noviembre de 2026,
10:30 a. m." in Spanish), never from hand-written lists. Babel is imported on the first date
written, not when this module is imported, so starting a process costs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from bot.messages import Catalogue
from bot.model import Reply
from flows.steps import DayName, Kept, Say, Short, ShortDay, Supplied

# The CLDR patterns of each style, by language (bot/languages.py). A language not listed
# here is written with the English patterns and its own month and day names.
_PATTERNS: dict[str, dict[str, str]] = {
    "en": {
        "long_date": "MMMM d, y",
        "weekday": "EEEE",
        "short_day": "EEE MMM d",
        "day_name": "EEEE, MMMM d",
        "time": "",  # "10:30 a.m.": the house style, written below
    },
    "es": {
        "long_date": "d 'de' MMMM 'de' y",
        "weekday": "EEEE",
        "short_day": "EEE d MMM",
        "day_name": "EEEE d 'de' MMMM",
        "time": "h:mm a",  # "10:30 a. m."
    },
}


def _pattern(locale: str, style: str) -> str:
    return _PATTERNS.get(locale, _PATTERNS["en"])[style]


@lru_cache(maxsize=4096)
def _day(day: date, locale: str, style: str) -> str:
    from babel.dates import format_date  # imported on first use: see the module's doc

    return _plain(format_date(day, _pattern(locale, style), locale=locale))


def clock_time(at: datetime | time, locale: str = "en") -> str:
    """'10:30 a.m.', '12:00 p.m.' ('10:30 a. m.' in Spanish)"""
    pattern = _pattern(locale, "time")
    if not pattern:
        hour = at.hour % 12 or 12
        return f"{hour}:{at:%M} {'a.m.' if at.hour < 12 else 'p.m.'}"
    return _time(at.hour, at.minute, locale, pattern)


@lru_cache(maxsize=2048)
def _time(hour: int, minute: int, locale: str, pattern: str) -> str:
    from babel.dates import format_time

    return _plain(format_time(time(hour, minute), pattern, locale=locale))


def _plain(written: str) -> str:
    """CLDR's no-break spaces ("10:30 a.\u202fm.") as plain spaces: what people type to
    name a button, and what every channel shows alike."""
    return str(written).replace("\u202f", " ").replace("\u00a0", " ")


def long_date(day: date, locale: str = "en") -> str:
    """'November 24, 2026' ('24 de noviembre de 2026')"""
    return _day(day, locale, "long_date")


def long_when(at: datetime, locale: str = "en") -> str:
    """'Tuesday, November 24, 2026, 10:30 a.m.'"""
    day = at.date()
    weekday = _day(day, locale, "weekday")
    return f"{weekday}, {long_date(day, locale)}, {clock_time(at, locale)}"


def short_when(at: datetime, locale: str = "en") -> str:
    """'Tue Nov 24, 10:30 a.m.' (a button label)"""
    return f"{short_day(at.date(), locale)}, {clock_time(at, locale)}"


def short_day(day: date, locale: str = "en") -> str:
    """'Tue Nov 24' (a day on a button label)"""
    return _day(day, locale, "short_day")


def day_name(day: date, locale: str = "en") -> str:
    """'Monday, January 4' (a day a few weeks away at most)"""
    return _day(day, locale, "day_name")


# Values written as they are (most placeholders): no formatter to look for.
_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})


def formatted(params: Mapping[str, Any], locale: str = "en") -> dict[str, Any]:
    """Placeholder values as they are written: dates and times in the house style."""
    return {
        name: value if type(value) in _AS_THEY_ARE else _written(value, locale)
        for name, value in params.items()
    }


def _written(value: Any, locale: str) -> Any:
    """One placeholder value in the house style (as it is when no style applies)."""
    write = _WRITERS.get(type(value))  # by exact type first: one look-up, not a chain
    if write is not None:
        return write(value, locale)
    if isinstance(value, datetime):
        return long_when(value, locale)
    if isinstance(value, Short):
        return short_when(value.at, locale)
    if isinstance(value, ShortDay):
        return short_day(value.day, locale)
    if isinstance(value, DayName):
        return day_name(value.day, locale)
    if isinstance(value, date):
        return long_date(value, locale)
    if isinstance(value, time):
        return clock_time(value, locale)
    if isinstance(value, Supplied):
        return value.in_language(locale.split("_")[0])
    return value


# The writers of `_written`, by exact type (subclasses go through its isinstance chain).
_WRITERS: dict[type, Callable[[Any, str], Any]] = {
    datetime: long_when,
    Short: lambda value, locale: short_when(value.at, locale),
    ShortDay: lambda value, locale: short_day(value.day, locale),
    DayName: lambda value, locale: day_name(value.day, locale),
    date: long_date,
    time: clock_time,
    Supplied: lambda value, locale: value.in_language(locale.split("_")[0]),
}


def in_every_language(messages: Catalogue, said: Say) -> Reply:
    """A notice without buttons in `messages`' language, with its text in every other one:
    the outbox sends the one of the applicant's language when it goes out."""
    others = tuple(
        (code, Reply(render(messages.in_language(code), said)))
        for code in messages.languages
        if code != messages.language
    )
    return Reply(render(messages, said), (), others)


def render(messages: Catalogue, said: Say) -> str:
    return text(messages, said.key, said.params)


# What `Kept` placeholders were written as, by catalogue and key (bounded).
_KEPT_TEXTS: dict[tuple[Catalogue, str, Kept], str] = {}
_KEPT_TEXTS_MAX = 4096


def text(messages: Catalogue, key: str, params: Mapping[str, Any]) -> str:
    """The catalogue text `key` with `params` written in the house style of its language."""
    if not params:
        return messages.filled(key, params)
    if type(params) is Kept:  # never changed once made: written once per catalogue
        kept_key = (messages, key, params)
        found = _KEPT_TEXTS.get(kept_key)
        if found is None:
            if len(_KEPT_TEXTS) >= _KEPT_TEXTS_MAX:
                _KEPT_TEXTS.clear()
            found = _KEPT_TEXTS[kept_key] = _filled(messages, key, params)
        return found
    return _filled(messages, key, params)


def _filled(messages: Catalogue, key: str, params: Mapping[str, Any]) -> str:
    # A text handed over from config/'s rule files is written in the catalogue's language;
    # a sentence is rendered first; other values are written in the house style.
    values: dict[str, Any] = {}
    for k, v in params.items():
        kind = type(v)  # by type first: most values are plain text or numbers
        if kind is str:
            v = messages.literal(v)
        elif kind in _AS_THEY_ARE:
            pass
        elif isinstance(v, str):
            v = messages.literal(v)
        elif isinstance(v, Say):
            v = text(messages, v.key, v.params)
        else:
            v = _written(v, messages.language)
        values[k] = v
    return messages.filled(key, values)
