"""What arrives from outside, made safe before anything else sees it.

Every input path (console lines, JSONL objects, Telegram texts and button data, staff
commands, webhook bodies) goes through these few functions, so one rule holds everywhere:

- `valid_text` makes any text valid Unicode that UTF-8 can encode. A Python string can hold
  a lone surrogate (JSON's ``"\\ud800"``, a command-line argument that was not UTF-8);
  SQLite, Telegram and the terminal cannot take one, so it becomes U+FFFD and the rest of
  the text is answered normally. The engine applies it at its edge (`Engine.handle`), and
  `ConversationKey.of` applies it to user ids.
- `read_line` reads one line of at most N bytes, whatever the stream holds, in bounded
  memory; a longer line is skipped to its end and reported as too long.
- `parse_json` parses a JSON document of at most N bytes and a nesting depth of at most D,
  checked *before* the parser runs (Python's parser recurses: a line of a thousand ``[``
  would raise RecursionError).
- `bounded_text` refuses text over a number of characters (staff notes, arguments).

The bounds themselves are settings (`[limits]` in config/settings.toml, `bot.config.Limits`);
the one bound that is not is Telegram's 64 bytes of button data (`MAX_BUTTON_DATA_BYTES`),
which is the protocol's.

This module imports nothing of the project, so every layer may use it.
"""

from __future__ import annotations

import json
import sys
from typing import Any, BinaryIO

MAX_BUTTON_DATA_BYTES = 64  # Telegram's limit on callback_data; the same for every channel
READ_CHUNK = 64 * 1024  # how much of an over-long line is read at a time while skipping it


class InputRejected(ValueError):
    """Input over a bound, or not of a usable shape. `key` names the catalogue message that
    tells the user why (`params` fill it); the message text never holds the input."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


# ---- text -----------------------------------------------------------------------------------


def valid_text(text: str) -> str:
    """`text`, with every lone surrogate replaced by U+FFFD (a pair written as two
    surrogates becomes the one character it stands for). Text that UTF-8 can already
    encode is returned as it is, without a copy."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def bounded_text(text: str, max_chars: int) -> str:
    """`text` made valid, or `InputRejected("error.too_long")` when it is over `max_chars`."""
    if len(text) > max_chars:
        raise InputRejected("error.too_long", limit=max_chars)
    return valid_text(text)


def button_data_fits(data: object) -> bool:
    """Whether `data` can be button data: text of at most 64 bytes."""
    return (
        isinstance(data, str)
        and len(data) <= MAX_BUTTON_DATA_BYTES
        and len(data.encode("utf-8", "surrogatepass")) <= MAX_BUTTON_DATA_BYTES
    )


# ---- lines ----------------------------------------------------------------------------------


def read_line(stream: BinaryIO, max_bytes: int) -> bytes | None:
    """The next line of `stream` without its line ending, None at the end of the stream.

    A line longer than `max_bytes` is read to its end in chunks and thrown away (memory
    stays bounded, and the next line is read from where it really starts); then
    `InputRejected("error.input_too_large")` is raised."""
    raw = stream.readline(max_bytes + 1)
    if not raw:
        return None
    if len(raw) > max_bytes and not raw.endswith(b"\n"):
        while True:
            rest = stream.readline(READ_CHUNK)
            if not rest or rest.endswith(b"\n"):
                break
        raise InputRejected("error.input_too_large", limit=max_bytes)
    return raw.rstrip(b"\r\n")


def ask_line(prompt: str, max_bytes: int) -> str:
    """One line typed at a prompt: with line editing at a terminal (whose driver bounds a
    line already), else read from the pipe in bounded memory. Raises EOFError at the end
    of input, `InputRejected("error.input_too_large")` for a line over `max_bytes`."""
    if sys.stdin.isatty():
        line = input(prompt)
        if len(line.encode("utf-8", "surrogatepass")) > max_bytes:
            raise InputRejected("error.input_too_large", limit=max_bytes)
        return line
    sys.stdout.write(prompt)
    sys.stdout.flush()
    raw = read_line(sys.stdin.buffer, max_bytes)
    if raw is None:
        raise EOFError
    return raw.decode("utf-8", errors="replace")


# ---- JSON -----------------------------------------------------------------------------------


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (strings skipped; text that is not JSON
    gives a number too, which the parser then refuses)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_json(raw: str | bytes, *, max_bytes: int, max_depth: int) -> Any:
    """The JSON value in `raw`, or `InputRejected`: `error.input_too_large` over `max_bytes`,
    `error.too_deep` over `max_depth` levels of nesting, `error.not_json` when it does not
    parse. Strings in the value are made valid text (no lone surrogates)."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InputRejected("error.input_too_large", limit=max_bytes)
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if json_depth(text) > max_depth:
        raise InputRejected("error.too_deep", limit=max_depth)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise InputRejected("error.not_json") from None
    return _valid_strings(value)


def _valid_strings(value: Any) -> Any:
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, list):
        return [_valid_strings(v) for v in value]
    if isinstance(value, dict):
        return {valid_text(k): _valid_strings(v) for k, v in value.items()}
    return value
