"""How a scenario's applicant inputs reach the assistant.

`EngineDriver` talks to the engine in this process through a `Session`, exactly as
`tierline console` does. `JsonlDriver` runs the real `tierline console --jsonl` in one
subprocess per scenario on the scenario's database, started with `--now` at the
scenario's clock: each line names its applicant ("user") and, when the scenario's clock
has moved, the new time ("now"), so the same scenario also pins the machine-mode
contract. Both return a `TurnResult` and the buttons the applicant can press:
those of the latest replies that carried any, the keyboard still on the applicant's
screen (a reply without buttons, such as a refusal, does not take that keyboard away).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bot.engine.engine import Engine
from bot.engine.session import Session
from bot.model import CONSOLE, Button, ConversationKey, Reply, TurnResult

PROJECT_ROOT = Path(__file__).resolve().parents[2]
JSONL_TIMEOUT = 60.0


class DriverError(Exception):
    """The way to the assistant broke (a subprocess died or answered garbage)."""


class Driver(Protocol):
    async def send(
        self, user: str, *, text: str | None = None, button: str | None = None
    ) -> TurnResult: ...

    def buttons(self, user: str) -> tuple[Button, ...]: ...

    def key(self, user: str) -> ConversationKey: ...

    async def close(self) -> None: ...


def key_for(user: str) -> ConversationKey:
    return ConversationKey.of(CONSOLE, user)


class _ConsoleApplicants:
    """What both console drivers keep per applicant: the keyboard on screen, and the
    console conversation key."""

    def __init__(self) -> None:
        self._buttons: dict[str, tuple[Button, ...]] = {}

    def buttons(self, user: str) -> tuple[Button, ...]:
        return self._buttons.get(user, ())

    def key(self, user: str) -> ConversationKey:
        return key_for(user)


class EngineDriver(_ConsoleApplicants):
    def __init__(self, engine: Engine, language: str | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.language = language  # what the channel says of the applicants' language
        self._sessions: dict[str, Session] = {}

    def _session(self, user: str) -> Session:
        if user not in self._sessions:
            session = self._sessions[user] = Session(self.engine, key_for(user))
            session.language = self.language
        return self._sessions[user]

    async def send(
        self, user: str, *, text: str | None = None, button: str | None = None
    ) -> TurnResult:
        result = await self._session(user).turn(text=text, button=button)
        _keep_keyboard(self._buttons, user, result)
        return result

    async def close(self) -> None:
        self._sessions.clear()


class JsonlConsole:
    """One `tierline console --jsonl` process that plays scenario after scenario: each
    scenario's database is opened with an "open" line, so no process is started per
    scenario, per applicant or per clock setting."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="tierline-console-")
        self._proc: asyncio.subprocess.Process | None = None
        self.now: datetime | None = None  # the console's clock, as last set

    async def attach(self, db_path: Path | str, now: datetime, language: str | None) -> None:
        """Go on with `db_path`, the clock at `now`, speaking `language`."""
        self.now = now
        if self._proc is None or self._proc.returncode is not None:
            await self._start(db_path, now, language)
            return
        line = {"open": str(db_path), "now": now.isoformat(), "lang": language or ""}
        await self.exchange(line)

    async def _start(self, db_path: Path | str, now: datetime, language: str | None) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p
            ),
            "TIERLINE_LOAD_DEMO_CASES": "false",
        }
        with self._stderr_path().open("ab") as err:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "console",
                "--jsonl",
                "--db",
                str(db_path),
                "--now",
                now.isoformat(),
                *(("--lang", language) if language else ()),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                env=env,
                cwd=PROJECT_ROOT,
            )

    async def exchange(self, message: dict[str, str]) -> dict[str, Any]:
        """Send one JSON line, read the one JSON object it is answered with."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(message).encode() + b"\n")
            await proc.stdin.drain()
            raw = await asyncio.wait_for(proc.stdout.readline(), JSONL_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise DriverError(
                f"tierline console --jsonl did not answer: {exc!r}{self._stderr()}"
            ) from None
        if not raw:
            raise DriverError(f"tierline console --jsonl ended without answering{self._stderr()}")
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise DriverError(f"tierline console --jsonl wrote {raw!r}: {exc}") from None
        if not isinstance(answer, dict):
            raise DriverError(f"tierline console --jsonl wrote {raw!r}")
        return answer

    def _stderr_path(self) -> Path:
        return Path(self._tmp.name) / "console.stderr"

    def _stderr(self) -> str:
        try:
            text = self._stderr_path().read_text(errors="replace").strip()
        except OSError:
            return ""
        return f"; its stderr: {text[-2000:]}" if text else ""

    async def close(self) -> None:
        if self._proc is not None:
            await _stop(self._proc)
            self._proc = None
        self._tmp.cleanup()


class JsonlDriver(_ConsoleApplicants):
    """A scenario played through a `JsonlConsole` (its own, or one shared by a run)."""

    def __init__(
        self,
        engine: Engine,
        db_path: Path | str,
        language: str | None = None,
        console: JsonlConsole | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.language = language  # passed as --lang
        self.db_path = db_path
        self._own = console is None
        self.console = console or JsonlConsole()
        self._attached = False

    async def send(
        self, user: str, *, text: str | None = None, button: str | None = None
    ) -> TurnResult:
        now = self.engine.now()
        if not self._attached:
            await self.console.attach(self.db_path, now, self.language)
            self._attached = True
        message: dict[str, str] = {"user": user}
        if now != self.console.now:
            message["now"] = now.isoformat()
            self.console.now = now
        if button is not None:
            message["button"] = button
        else:
            message["text"] = text or ""
        answer = await self.console.exchange(message)
        try:
            result = _result_from_json(answer)
        except (KeyError, TypeError) as exc:
            raise DriverError(f"tierline console --jsonl wrote {answer!r}: {exc}") from None
        _keep_keyboard(self._buttons, user, result)
        return result

    async def close(self) -> None:
        if self._own:
            await self.console.close()


def _keep_keyboard(keyboards: dict[str, tuple[Button, ...]], user: str, result: TurnResult) -> None:
    buttons = tuple(b for r in result.replies for b in r.buttons)
    if buttons:
        keyboards[user] = buttons


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.stdin is not None and not proc.stdin.is_closing():
        proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        proc.kill()
        await proc.wait()


def _result_from_json(obj: dict[str, Any]) -> TurnResult:
    replies = tuple(
        Reply(r["text"], tuple(Button(b["label"], b["data"]) for b in r["buttons"]))
        for r in obj["replies"]
    )
    return TurnResult(state=obj["state"], tier=obj["tier"], replies=replies)
