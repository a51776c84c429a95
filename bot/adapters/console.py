"""Chat with Tierline in the terminal, exactly as an applicant would.

Interactive mode shows buttons as numbered choices (type the number to press one), with
line editing and history; /quit leaves. With --jsonl it is a machine interface: one input
per line on stdin (plain text, {"text": "..."} or {"button": "<data>"}) and exactly one JSON
object per input on stdout: {"state": ..., "tier": ..., "replies": [...]}. An object may
also name the applicant it comes from ({"user": "bob", "text": "hi"}: one process serves
several conversations) and, when the console was started with --now, move the clock
forward before the turn ({"now": "2026-11-25T10:30", ...}), so a script or a scenario needs
no new process per applicant or per clock change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.clock import Clock, FixedClock
from bot.config import Settings, database_location
from bot.engine.engine import Engine
from bot.engine.session import Session
from bot.inputs import InputRejected, ask_line, parse_json, read_line
from bot.model import CONSOLE, ConversationKey, Reply, TurnResult
from bot.storage.database import StorageError

log = logging.getLogger(__name__)

HISTORY_FILE = Path.home() / ".tierline_history"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bot.runtime import add_common_options

    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="machine mode: JSON lines in, one JSON object out per line",
    )
    parser.add_argument(
        "--user",
        default="local",
        metavar="ID",
        help="conversation id (one conversation per user id; default: local)",
    )
    parser.add_argument(
        "--lang",
        default=None,
        metavar="CODE",
        help="the applicant's language until they choose one with /language: en or es"
        " (default: the default_language setting)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="print each transition and the rule that fired (to stderr)",
    )
    add_common_options(parser)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from bot.runtime import clock_from, open_engine, settings_from

    settings = settings_from(args)
    clock = clock_from(args, settings)
    language = args.lang
    pending: str | None = None  # the answer to an "open" line, given once reopened
    previous: tuple[Settings, Clock] | None = None  # to go back to when an "open" fails
    while True:
        try:
            opened = open_engine(settings, clock)
            engine = await opened.__aenter__()
        except StorageError as exc:
            if previous is None:
                raise
            log.warning("the console could not open another database: %s", exc)
            settings, clock = previous
            previous, pending = None, "console.open_failed"
            continue
        try:
            session = ConsoleSession(
                engine, ConversationKey.of(CONSOLE, args.user), trace=args.trace
            )
            session.language = language
            session.clock = clock if isinstance(clock, FixedClock) else None
            if not args.jsonl:
                await session.run_interactive()
                return 0
            if pending is not None:
                _write(sys.stdout, await session.answer(pending, db=str(settings.db_path)))
            reopen = await session.run_jsonl(sys.stdin.buffer, sys.stdout)
            if reopen is None:
                return 0
        finally:
            await opened.__aexit__(None, None, None)
        previous = (settings, clock)
        settings = settings.model_copy(update={"db_path": reopen.db})
        if reopen.now is not None:
            clock = FixedClock(reopen.now, settings.tz)
        if reopen.lang is not None:  # "" is the default language
            language = reopen.lang or None
        pending = "console.opened"


class Reopen(Exception):
    """A JSON line asked the console to go on with another database (and clock)."""

    def __init__(self, db: Path | str, now: datetime | None, lang: str | None) -> None:
        super().__init__(str(db))
        self.db, self.now, self.lang = db, now, lang


def _when(value: object) -> datetime | None:
    """The date and time a JSON line's "now" gives (ISO), or None when it gives none."""
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _write(stdout: TextIO, result: TurnResult) -> None:
    stdout.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
    stdout.flush()


def valid_user(user: str) -> bool:
    """A user id a JSON line may name: short printable text."""
    return 0 < len(user) <= 64 and user.isprintable()


class ConsoleSession(Session):
    """One console conversation: turns text or numbered choices into engine input."""

    def __init__(self, engine: Engine, key: ConversationKey, *, trace: bool = False) -> None:
        super().__init__(engine, key)
        self.trace = trace
        self.last_state: str | None = None
        self.clock: FixedClock | None = None  # --now: JSON lines may move it forward
        self._others: dict[str, ConsoleSession] = {}  # {"user": ...} lines, by user id

    def _for_user(self, user: str) -> ConsoleSession:
        """The session of another applicant served by this process (JSON lines)."""
        if user == self.key.user_id:
            return self
        if user not in self._others:
            other = ConsoleSession(self.engine, ConversationKey.of(CONSOLE, user), trace=self.trace)
            other.language = self.language
            self._others[user] = other
        return self._others[user]

    async def turn(self, *, text: str | None = None, button: str | None = None) -> TurnResult:
        result = await super().turn(text=text, button=button)
        self.last_state = result.state
        if self.trace:
            for t in result.transitions:
                print(
                    f"[trace] {t.source} --{t.trigger}--> {t.dest}  (rule: {t.rule}: {t.why})",
                    file=sys.stderr,
                    flush=True,
                )
        return result

    def _text(self, key: str) -> str:
        """A console text in the language given with --lang."""
        from bot.languages import language_of

        messages = self.engine.services.messages
        return messages.in_language(language_of(self.language)).text(key)

    # ---- machine mode -----------------------------------------------------------------------

    async def run_jsonl(self, stdin: Any, stdout: TextIO) -> Reopen | None:
        """One JSON object out for every line in, whatever the line holds: a line over
        `limits.line_bytes` or nested deeper than `limits.json_depth` is answered with a
        clear reply and changes nothing, and the next line is read as usual. A line that
        asks for another database ends this engine's reading: it is returned, and answered
        once the new one is open."""
        loop = asyncio.get_running_loop()
        limits = self.engine.services.settings.limits
        while True:
            try:
                raw = await loop.run_in_executor(None, read_line, stdin, limits.line_bytes)
                if raw is None:
                    return None
                result = await self._jsonl_turn(raw.decode("utf-8", errors="replace"))
            except Reopen as reopen:
                return reopen
            except InputRejected as exc:
                result = await self.answer(exc.key, **exc.params)
            except StorageError:
                result = await self._apology("error.not_saved")
            except Exception:
                log.exception("a console turn failed; nothing was changed")
                result = await self._apology("error.internal")
            _write(stdout, result)

    async def _jsonl_turn(self, line: str) -> TurnResult:
        parsed = self._parse_json_object(line)
        if parsed is None:
            return await self.turn(text=line)
        if "open" in parsed:
            return await self._open(parsed)
        text, button = parsed.get("text"), parsed.get("button")
        user, now = parsed.get("user", self.key.user_id), parsed.get("now")
        session = self._for_user(user) if isinstance(user, str) and valid_user(user) else None
        shape_ok = (isinstance(button, str) and text is None) or (
            isinstance(text, str) and button is None
        )
        if session is None or not shape_ok or set(parsed) - {"text", "button", "user", "now"}:
            # A JSON object, but not one of the input shapes: say so, change nothing.
            return await self.answer("console.bad_json")
        if now is not None:
            refused = self._move_clock(now)
            if refused is not None:
                return await session.answer(refused)
        if button is not None:
            return await session.turn(button=button)
        return await session.turn(text=text)

    async def _open(self, parsed: dict[str, Any]) -> TurnResult:
        """{"open": DB, "now": ISO, "lang": CODE}: go on with another database (a test
        driver plays many scenarios through one process). Raises `Reopen`, or answers why
        not and changes nothing."""
        db, now, lang = parsed.get("open"), parsed.get("now"), parsed.get("lang")
        if (
            set(parsed) - {"open", "now", "lang"}
            or not isinstance(db, str)
            or not db.strip()
            or not (lang is None or isinstance(lang, str))
        ):
            return await self.answer("console.bad_json")
        at = None if now is None else _when(now)
        if now is not None and at is None:
            return await self.answer("console.clock_bad")
        try:
            location = database_location(db)
        except ValueError:
            return await self.answer("console.bad_json")
        raise Reopen(location, at, lang)

    def _move_clock(self, now: object) -> str | None:
        """Move the fixed clock to `now` (forward only); the message key of a refusal."""
        if self.clock is None:
            return "console.clock_not_fixed"
        at = _when(now)
        if at is None:
            return "console.clock_bad"
        if at.tzinfo is None:
            at = at.replace(tzinfo=self.engine.services.settings.tz)
        if at < self.clock.now():
            return "console.clock_back"
        self.clock.set(at)
        return None

    def _parse_json_object(self, line: str) -> dict[str, Any] | None:
        """The JSON object on `line`; None when the line is not one (it is then plain
        text). A line too large or too deep raises `InputRejected`."""
        if not line.lstrip().startswith("{"):
            return None
        limits = self.engine.services.settings.limits
        try:
            value = parse_json(line, max_bytes=limits.line_bytes, max_depth=limits.json_depth)
        except InputRejected as exc:
            if exc.key == "error.not_json":
                return None
            raise
        return value if isinstance(value, dict) else None

    async def _apology(self, key: str) -> TurnResult:
        """An apology that changes nothing, even when reading where the conversation
        stands fails too (it then names the state of the last answer given)."""
        try:
            return await self.answer(key)
        except Exception:
            state = self.last_state or self.engine.services.definition.initial
            return TurnResult(state, _tier(state), (Reply(self.engine.text(key)),))

    # ---- interactive mode -------------------------------------------------------------------

    async def run_interactive(self) -> None:
        _enable_line_editing()
        print(self._text("console.intro"))
        if await self.engine.has_conversation(self.key):
            # Never reset a conversation under way: ask its current question again.
            print(self._text("console.resume"))
            question = await self.engine.question(self.key)
            self.remember(question)
            if question.replies:
                self._show(question)
            else:
                print(self._text("console.resume_hint"))
        else:
            self._show(await self.turn(text="/start"))
        loop = asyncio.get_running_loop()
        limits = self.engine.services.settings.limits
        while True:
            try:
                line = await loop.run_in_executor(None, ask_line, "you> ", limits.line_bytes)
            except EOFError:
                print()
                break
            except InputRejected as exc:
                self._show(await self.answer(exc.key, **exc.params))
                continue
            stripped = line.strip()
            if stripped.lower() in {"/quit", "/exit"}:
                break
            if stripped.isdigit() and 1 <= int(stripped) <= len(self.last_buttons):
                result = await self.turn(button=self.last_buttons[int(stripped) - 1].data)
            else:
                result = await self.turn(text=line)
            self._show(result)
        _save_history()

    def _show(self, result: TurnResult) -> None:
        for reply in result.replies:
            print(f"\n[{result.tier}] {reply.text}")
            for button in reply.buttons:
                print(f"   {self.number_of(button)}) {button.label}")
        print()


def _tier(state: str) -> str:
    from flows.machine import tier_of

    return tier_of(state)


def _parse_json_object(line: str) -> dict[str, Any] | None:
    if not line.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _enable_line_editing() -> None:
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input still works
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY_FILE)
    readline.set_history_length(1000)


def _save_history() -> None:
    try:
        import readline

        readline.write_history_file(HISTORY_FILE)
    except (ImportError, OSError):
        pass
