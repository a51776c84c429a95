"""Logging to stderr with personal data masked in every line, whoever wrote it."""

from __future__ import annotations

import logging
import sys

from flows.privacy import mask_personal_data


class MaskingFormatter(logging.Formatter):
    """Formats a record, tracebacks included, then masks receipts, A-numbers and phones."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal_data(super().format(record))


def setup_logging(level: str = "WARNING") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries log request URLs that can contain the bot token; keep them quiet.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "aiosqlite", "transitions"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
