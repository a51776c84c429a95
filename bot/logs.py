"""Logging to stderr with personal data masked in every line, whoever wrote it, and floods
collapsed.

One handler on the root logger writes every record: ours and the libraries' alike
(python-telegram-bot, httpx, aiosqlite, asyncio, tornado). `setup_logging` takes
any handler a library attached to its own logger away and lets its records propagate, so
none bypasses the masking.

- Masking (`MaskingFormatter`): the whole formatted line, traceback included, goes through
  `flows.privacy.mask_personal_data` (receipts, A-numbers, phones), after the values of
  personal fields in logged data (``'first_name': 'Maria'``, ``"username": "..."``,
  ``text='...'``: what python-telegram-bot prints of an update it cannot parse) and bot
  tokens (in request URLs) are replaced by ``***``.
- Rate limiting (`LimitingHandler`): a record repeated more than `repeats` times within
  `window` seconds (same logger, level and message template, whatever its arguments) is
  not written; when the window has passed, or at exit, one line says how many similar
  messages were suppressed.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from typing import TextIO

from msgspec import Struct

from flows.privacy import mask_personal_data

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LIBRARIES = (
    "telegram",
    "httpx",
    "httpcore",
    "aiosqlite",
    "asyncio",
    "tornado",
    "transitions",
)
# Fields whose values name or reach a person, or are free text someone typed.
PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "full_name",
    "username",
    "name",
    "phone_number",
    "phone",
    "email",
    "text",
    "caption",
    "bio",
    "vcard",
    "address",
    "title",
    "note",
)
_FIELD = "|".join(PERSONAL_FIELDS)
# 'first_name': 'Maria' / "first_name": "Maria" (dict reprs and JSON)
_QUOTED_FIELD = re.compile(
    r"""(?P<key>(?P<kq>['"])(?:""" + _FIELD + r""")(?P=kq)\s*:\s*)"""
    r"""(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q)""",
    re.DOTALL,
)
# first_name='Maria' (reprs of objects, keyword arguments)
_KEYWORD_FIELD = re.compile(
    r"""(?P<key>(?<![\w.])(?:""" + _FIELD + r""")=)(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q)""",
    re.DOTALL,
)


def mask_fields(text: str) -> str:
    """`text` with the values of personal fields (`PERSONAL_FIELDS`) replaced by ***."""
    if "=" not in text and ":" not in text:
        return text
    text = _QUOTED_FIELD.sub(lambda m: f"{m['key']}{m['q']}***{m['q']}", text)
    return _KEYWORD_FIELD.sub(lambda m: f"{m['key']}{m['q']}***{m['q']}", text)


# A Telegram bot token (digits, a colon, 35 URL-safe characters), as in request URLs.
_BOT_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}")


def mask(text: str) -> str:
    """Everything a log line must not show, masked."""
    return mask_personal_data(mask_fields(_BOT_TOKEN.sub("***:***", text)))


class MaskingFormatter(logging.Formatter):
    """Formats a record, tracebacks included, then masks personal fields, receipts,
    A-numbers and phones."""

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


class _Seen(Struct):
    started: float
    count: int = 0
    suppressed: int = 0


class LimitingHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes a repeated record at most `repeats` times per `window`
    seconds, then one "suppressed N similar messages" line for the rest."""

    MAX_KEYS = 1024  # distinct messages remembered; the oldest is forgotten first

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        repeats: int = 5,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(stream)
        self.repeats = repeats
        self.window = window
        self._clock = clock
        self._seen: dict[tuple[str, int, str], _Seen] = {}
        self._next_sweep = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        # Called under the handler's lock (`Handler.handle`), so the counts are consistent.
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        key = (record.name, record.levelno, str(record.msg)[:200])
        seen = self._seen.get(key)
        if seen is None or now - seen.started >= self.window:
            if seen is not None:
                self._summarise(key, seen)
                del self._seen[key]
            elif len(self._seen) >= self.MAX_KEYS:
                oldest = next(iter(self._seen))
                self._summarise(oldest, self._seen.pop(oldest))
            seen = self._seen[key] = _Seen(now)
        seen.count += 1
        if seen.count > self.repeats:
            seen.suppressed += 1
            return
        super().emit(record)

    def _sweep(self, now: float) -> None:
        """Say what was suppressed in windows that have passed."""
        self._next_sweep = now + min(1.0, self.window)
        for key, seen in list(self._seen.items()):
            if now - seen.started >= self.window:
                self._summarise(key, seen)
                del self._seen[key]

    def _summarise(self, key: tuple[str, int, str], seen: _Seen) -> None:
        if not seen.suppressed:
            return
        name, level, template = key
        line = logging.LogRecord(
            name,
            level,
            __file__,
            0,
            "suppressed %d similar messages (more than %d in %g s): %s",
            (seen.suppressed, self.repeats, self.window, template[:120]),
            None,
        )
        seen.suppressed = 0
        super().emit(line)

    def flush_suppressed(self) -> None:
        """Say now what has been suppressed so far (also done when the handler closes)."""
        self.acquire()
        try:
            for key, seen in list(self._seen.items()):
                self._summarise(key, seen)
        finally:
            self.release()

    def close(self) -> None:
        self.flush_suppressed()
        super().close()


def setup_logging(level: str = "WARNING", *, repeats: int = 5, window: float = 60.0) -> None:
    """Every log record, ours and the libraries', to stderr: masked, floods collapsed."""
    handler = LimitingHandler(sys.stderr, repeats=repeats, window=window)
    handler.setFormatter(MaskingFormatter(FORMAT))
    root = logging.getLogger()
    for old in root.handlers:
        if isinstance(old, LimitingHandler):
            old.flush_suppressed()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries write through the root handler only: none keeps a handler of its own.
    for name in LIBRARIES:
        library = logging.getLogger(name)
        library.handlers[:] = []
        library.propagate = True
    # Libraries log request URLs that can contain the bot token; keep them quiet.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "aiosqlite", "transitions"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
