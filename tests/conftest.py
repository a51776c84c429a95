"""Shared fixtures: a real database per test (a SQLite file, or a PostgreSQL database with
TIERLINE_TEST_BACKEND=postgresql: tests/pg_server.py), a fixed clock, an engine, a chat
driver, and a runner for the real `tierline` CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import Settings, load_settings
from bot.engine import ConversationKey, Engine, TurnInput, TurnResult
from bot.storage.database import Database

pytest.register_assert_rewrite("tests.pg_server")
from tests.pg_server import database_location  # noqa: E402

pytest_plugins = ["tests.transition_coverage", "tests.pg_server"]

ROOT = Path(__file__).resolve().parent.parent
# Monday 23 November 2026, 10:00 Eastern: a business day inside every live window.
MONDAY_10AM = datetime(2026, 11, 23, 10, 0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A database of its own: a SQLite file, or with TIERLINE_TEST_BACKEND=postgresql a
    fresh database on the tests' PostgreSQL server (tests/pg_server.py)."""
    return load_settings(db_path=database_location(tmp_path))


@pytest.fixture
def clock(settings: Settings) -> FixedClock:
    return FixedClock(MONDAY_10AM, settings.tz)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings.db_path)
    yield database
    await database.close()


@pytest.fixture
async def engine(settings: Settings, db: Database, clock: FixedClock) -> Engine:
    return await create_engine(settings, db, clock)


class Chat:
    """Drives one conversation through the engine the way an adapter does."""

    def __init__(self, engine: Engine, user: str = "u1", channel: str = "console") -> None:
        self.engine = engine
        self.key = ConversationKey(channel, user)
        self.last: TurnResult | None = None

    async def send(self, text: str) -> TurnResult:
        return await self._turn(text=text)

    async def press(self, data: str) -> TurnResult:
        return await self._turn(button=data)

    async def press_label(self, label: str) -> TurnResult:
        """Press the button whose label contains `label` in the last replies."""
        assert self.last is not None, "nothing was said yet"
        for reply in self.last.replies:
            for button in reply.buttons:
                if label.lower() in button.label.lower():
                    return await self.press(button.data)
        offered = [b.label for r in self.last.replies for b in r.buttons]
        raise AssertionError(f"no button like {label!r}; offered: {offered}")

    async def _turn(self, **kw: Any) -> TurnResult:
        await self.engine.tick()
        result = await self.engine.handle(TurnInput(self.key, self.engine.now(), **kw))
        self.last = result
        return result

    @property
    def text(self) -> str:
        """All reply texts of the last turn, joined."""
        assert self.last is not None
        return "\n".join(r.text for r in self.last.replies)

    @property
    def buttons(self) -> list[str]:
        assert self.last is not None
        return [b.data for r in self.last.replies for b in r.buttons]


@pytest.fixture
def chat(engine: Engine) -> Chat:
    return Chat(engine)


def count_reads(db: Database, table: str) -> list[str]:
    """Every `fetchone` from `table` from now on, as its SQL (tests of kept rows)."""
    reads: list[str] = []
    original = db.fetchone

    async def counting(sql: str, params: Any = ()) -> Any:
        if f"FROM {table}" in sql:
            reads.append(sql)
        return await original(sql, params)

    db.fetchone = counting  # type: ignore[method-assign]
    return reads


def run_cli(
    *args: str,
    input: str | bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m bot ARGS` in a subprocess from the project root."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    data = input.encode() if isinstance(input, str) else input
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=data,
        capture_output=True,
        cwd=ROOT,
        env=full_env,
        timeout=timeout,
    )


def run_bench(script: str, *args: str) -> str:
    """Run `bench/SCRIPT ARGS` from the project root (tiny knobs: a test only sees that it
    runs and prints sane figures, never how fast); its standard output."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    return run.stdout


def jsonl(
    *args: str,
    lines: list[str | dict[str, Any]],
    env: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Feed `lines` to `tierline console --jsonl ARGS`; return the parsed output objects."""
    payload = "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines)
    proc = run_cli("console", "--jsonl", *args, input=payload, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode().splitlines()
    assert len(out) == len(lines), (out, proc.stderr.decode())
    return [json.loads(x) for x in out]
