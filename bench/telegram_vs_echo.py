"""Tierline on Telegram against a plain python-telegram-bot echo bot: updates per second
and update-to-first-reply, with the rate limiter as shipped and off.

    python bench/telegram_vs_echo.py [--rounds 3] [--chats 50] [--updates 12]
                                     [--warm-up 6] [--limiter shipped,off]

Both bots run as their own process against the same fake Bot API
(`bot/adapters/telegram/fake_api.py`, real HTTP on 127.0.0.1), which runs in this process
and plays the users:

- **Tierline** is `python -m bot telegram` (the production assembly: settings from
  `config/`, a real SQLite file in a temporary directory, the durable inbox and outbox,
  per-chat pacing, the retention job), with a fixed clock so the journey is the same
  every run. Each chat plays a real journey, cycled: /start, then the buttons Talk to a
  person, I am the applicant, I need an in-person visit, Proof of status, Yes, I have
  them (each press is answered, its keyboard removed, and one message replies).
- **echo** is python-telegram-bot's own echo bot (`Application`, `run_polling`, a
  `MessageHandler` that sends each text back), built with the builder's defaults and
  the same concurrency as Tierline (`telegram.max_concurrent_updates`, 64). Each chat
  sends the journey's labels as text.

`--chats` chats run at once, closed loop: a chat's next update is queued the moment the
first message answering its last one arrives, `--updates` updates per chat. Figures:

- **updates/s**: the chats' updates over the time from the first update queued to the
  last reply received;
- **update to first reply** (p50, p99): from the moment the fake makes an update
  available to getUpdates to the first sendMessage for that chat after it;
- **requests/update**: the bot's requests to the API other than getUpdates;
- **connections**: the most connections the bot had open to the API at once (its HTTP
  client's pool goes over all of them on every request);
- **CPU ms/update**: the bot process's CPU time (user and system, from /proc) over the
  measured updates, divided by their number: the cost without the waits; and the same
  divided by the requests/update (what each request to the API costs, all included).

`--limiter shipped` runs both as they ship: Tierline's defaults (python-telegram-bot's
`AIORateLimiter`, about 30 messages/s overall, and one message per second per chat,
`telegram.per_chat_interval_seconds`); echo with the same `AIORateLimiter`. `--limiter off`
runs both without a limiter (`telegram.rate_limiter = false`,
`telegram.per_chat_interval_seconds = 0`). Before the measured chats, one chat plays the
journey once (`--warm-up`, not counted). Each round runs every limiter setting and both
bots (a fresh fake, process and database each), alternating which bot goes first; the
ratios Tierline/echo are taken within a round, then the median over rounds is printed.

(Not named `telegram.py`: a script's directory comes first on the import path, so a file
of that name in `bench/` would stand in for python-telegram-bot's `telegram` package in
every script here.)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.telegram.fake_api import TOKEN, FakeBotApi  # noqa: E402

JOURNEY = (
    "/start",
    "Talk to a person",
    "I am the applicant",
    "I need an in-person visit",
    "Proof of status",
    "Yes, I have them",
)
NOW = "2026-11-23T10:00"  # a Monday morning: the journey's offers are open
WARM_UP_CHAT = 9_000_000
FIRST_CHAT = 1_000_000
BOTS = ("tierline", "echo")
LIMITERS = ("shipped", "off")
ECHO_CONCURRENCY = 64  # telegram.max_concurrent_updates, as shipped


# ---- the users, played inside the fake ------------------------------------------------


@dataclass
class _Chat:
    steps: Sequence[str]
    done: int = 0  # updates answered
    queued_at: float = 0.0  # when the update waiting for its reply was queued
    waiting: bool = False
    keyboard: tuple[int, list[tuple[str, str]]] | None = None  # last buttons shown


@dataclass
class _Load:
    chats: dict[int, _Chat]
    latencies: list[float] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    answered: int = 0
    error: str | None = None
    over: threading.Event = field(default_factory=threading.Event)


class BenchApi(FakeBotApi):
    """The fake Bot API that also plays the users: a chat's next update is queued (in the
    server's thread) as the first message answering its last one arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.load: _Load | None = None
        self.connections = 0  # opened by the bot, in all
        self.open_connections = 0
        self.most_open = 0  # at once

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        self.most_open = max(self.most_open, self.open_connections)
        try:
            await super()._serve(reader, writer)
        finally:
            self.open_connections -= 1

    def play(self, steps: dict[int, Sequence[str]]) -> _Load:
        load = _Load({chat: _Chat(s) for chat, s in steps.items()})
        self.load = load
        load.started = time.monotonic()
        for chat_id in steps:
            self._next(chat_id, load.chats[chat_id])
        return load

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        arrived = time.monotonic()
        result = super()._m_sendMessage(params)
        load, chat_id = self.load, params.get("chat_id")
        chat = load.chats.get(chat_id) if load is not None and isinstance(chat_id, int) else None
        if load is None or chat is None or chat_id is None:
            return result
        buttons = [
            (b["text"], b.get("callback_data", ""))
            for row in (params.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
        ]
        if buttons:
            chat.keyboard = (result["message_id"], buttons)
        if not chat.waiting:
            return result
        chat.waiting = False
        chat.done += 1
        load.answered += 1
        load.latencies.append(arrived - chat.queued_at)
        if chat.done < len(chat.steps):
            self._next(chat_id, chat)
        elif all(c.done == len(c.steps) for c in load.chats.values()):
            load.finished = arrived
            load.over.set()
        return result

    def _next(self, chat_id: int, chat: _Chat) -> None:
        step = chat.steps[chat.done]
        chat.waiting = True
        if not step.startswith("button:"):
            chat.queued_at = time.monotonic()
            self.user_sends(chat_id, step)
            return
        label = step.removeprefix("button:")
        found = [
            (message_id, data)
            for message_id, buttons in [chat.keyboard or (0, [])]
            for text, data in buttons
            if label.lower() in text.lower()
        ]
        if not found:
            shown = [t for t, _ in (chat.keyboard or (0, []))[1]]
            assert self.load is not None
            self.load.error = f"chat {chat_id}: no button like {label!r}; shown: {shown}"
            self.load.over.set()
            return
        message_id, data = found[0]
        chat.queued_at = time.monotonic()
        self.user_presses(chat_id, message_id, data)


def journey(bot: str, updates: int) -> list[str]:
    """A chat's `updates` steps: Tierline's journey with its buttons pressed, or the same
    labels typed to the echo bot."""
    steps = [JOURNEY[i % len(JOURNEY)] for i in range(updates)]
    if bot == "echo":
        return [s.removeprefix("/") for s in steps]
    return [s if s.startswith("/") else f"button:{s}" for s in steps]


# ---- the bots ---------------------------------------------------------------------------


def _environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        "PTB_TIMEDELTA": "true",
        **extra,
    }


def spawn(
    bot: str, limiter: str, api: FakeBotApi, work: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    log = work / f"{bot}.log"
    if bot == "tierline":
        env = {"TIERLINE_TELEGRAM_TOKEN": TOKEN}
        if limiter == "off":
            env |= {
                "TIERLINE_TELEGRAM__RATE_LIMITER": "false",
                "TIERLINE_TELEGRAM__PER_CHAT_INTERVAL_SECONDS": "0",
            }
        command = [
            *(sys.executable, "-m", "bot", "telegram", "--base-url", api.base_url),
            *("--db", str(work / "tierline.db"), "--now", NOW),
        ]
    else:
        env = {}
        command = [sys.executable, __file__, "--echo-bot", api.base_url]
        if limiter == "off":
            command.append("--echo-without-limiter")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_environment(**env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    return proc, log


def serve_echo(base_url: str, limited: bool) -> None:
    """python-telegram-bot's echo bot (the child process of an `echo` run)."""
    from telegram import Update
    from telegram.ext import (
        AIORateLimiter,
        ApplicationBuilder,
        ContextTypes,
        MessageHandler,
        filters,
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is not None and message.text:
            await message.reply_text(message.text)

    builder = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{base_url}/bot")
        .concurrent_updates(ECHO_CONCURRENCY)
    )
    if limited:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=6))  # as Tierline's
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


# ---- one run: one bot, one limiter setting ----------------------------------------------


@dataclass
class Result:
    bot: str
    limiter: str
    updates: int
    seconds: float
    p50: float
    p99: float
    requests: float  # per update, getUpdates aside
    connections: int  # the most the bot had open at once
    cpu: float  # the bot process's CPU seconds per update

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds > 0 else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _wait(load: _Load, within: float, what: str) -> None:
    if not load.over.wait(within):
        raise RuntimeError(f"{what}: {load.answered} updates answered after {within:.0f} s")
    if load.error is not None:
        raise RuntimeError(f"{what}: {load.error}")


def one_run(bot: str, limiter: str, chats: int, updates: int, warm_up: int, work: Path) -> Result:
    with BenchApi() as api:
        proc, log = spawn(bot, limiter, api, work)
        try:
            deadline = time.monotonic() + 60
            while not api.calls("getUpdates"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{bot} did not start")
                time.sleep(0.02)
            if warm_up:  # one chat first: the first use of every code path is not counted
                _wait(api.play({WARM_UP_CHAT: journey(bot, warm_up)}), 60 + 2 * warm_up, "warm-up")
            calls_before = len(api.calls()) - len(api.calls("getUpdates"))
            cpu_before = _cpu_seconds(proc.pid)
            steps = {FIRST_CHAT + i: journey(bot, updates) for i in range(chats)}
            load = api.play(steps)
            # bounded: at worst ~1 s per update of a chat, ~15 updates/s overall
            _wait(load, 60 + 2 * updates + chats * updates / 10, f"{bot}, limiter {limiter}")
            cpu = _cpu_seconds(proc.pid) - cpu_before
            requests = len(api.calls()) - len(api.calls("getUpdates")) - calls_before
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{bot}'s log ends:\n{log.read_text()[-3000:]}") from None
        finally:
            _stop(proc)
        if proc.returncode not in (0, -signal.SIGTERM):
            print(f"  ({bot} exited with {proc.returncode}: see {log})", file=sys.stderr)
        total = chats * updates
        # Each update is answered by one message (Tierline: "one answer, one message"); a
        # turn that sent more would have its second message taken for the next one's reply.
        sent = sum(1 for m in api.messages() if m.chat_id in steps)
        if sent != total:
            print(f"  note: {bot} sent {sent} messages for {total} updates", flush=True)
        return Result(
            bot,
            limiter,
            total,
            load.finished - load.started,
            percentile(load.latencies, 0.50),
            percentile(load.latencies, 0.99),
            requests / total,
            api.most_open,
            cpu / total,
        )


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a running process (Linux); NaN where /proc is not."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


# ---- rounds and the table ---------------------------------------------------------------


def _ratio(a: float, b: float) -> float:
    """a / b, or NaN when b is 0 (a tiny run can take less than a tick of CPU time)."""
    return a / b if b else math.nan


def _row(label: str, r: Result) -> str:
    return (
        f"  {label:22} {r.rate:9.1f} updates/s  p50 {r.p50 * 1000:8.1f} ms"
        f"  p99 {r.p99 * 1000:8.1f} ms  {r.requests:4.2f} requests/update"
        f"  CPU {r.cpu * 1000:5.2f} ms/update  {r.connections} connections"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 21), metavar="1-20")
    parser.add_argument("--chats", type=int, default=50, choices=range(1, 1001), metavar="1-1000")
    parser.add_argument(
        "--updates",
        type=int,
        default=12,
        choices=range(1, 201),
        metavar="1-200",
        help="updates per chat",
    )
    parser.add_argument(
        "--warm-up",
        type=int,
        default=len(JOURNEY),
        choices=range(201),
        metavar="0-200",
        help="updates of one chat played before the measured ones (default: the journey, 6)",
    )
    parser.add_argument(
        "--limiter",
        default=",".join(LIMITERS),
        help="comma-separated: shipped, off (default: both)",
    )
    parser.add_argument("--echo-bot", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--echo-without-limiter", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.echo_bot:
        if not args.echo_bot.startswith("http://127.0.0.1:"):
            parser.error("the echo bot talks to a fake Bot API on 127.0.0.1 only")
        serve_echo(args.echo_bot, limited=not args.echo_without_limiter)
        return
    limiters = [m.strip() for m in args.limiter.split(",") if m.strip()]
    if not limiters or any(m not in LIMITERS for m in limiters):
        parser.error(f"--limiter: choose from {', '.join(LIMITERS)}")

    print(
        f"{args.chats} chats x {args.updates} updates, closed loop; {args.rounds} round(s)",
        flush=True,
    )
    results: list[dict[tuple[str, str], Result]] = []
    with tempfile.TemporaryDirectory(prefix="tierline-bench-") as tmp:
        for number in range(args.rounds):
            round_results: dict[tuple[str, str], Result] = {}
            order = BOTS if number % 2 == 0 else BOTS[::-1]
            for limiter in limiters:
                for bot in order:
                    work = Path(tmp) / f"{number + 1}-{limiter}-{bot}"  # a fresh database
                    work.mkdir()
                    result = one_run(bot, limiter, args.chats, args.updates, args.warm_up, work)
                    round_results[bot, limiter] = result
                    print(_row(f"round {number + 1} {limiter:7} {bot}", result), flush=True)
            results.append(round_results)

    print(f"\nmedian of {args.rounds} round(s); the ratios are Tierline/echo within a round")
    columns: list[tuple[str, Callable[[Result], float], float]] = [
        ("updates/s", lambda r: r.rate, 1),
        ("p50 ms", lambda r: r.p50, 1000),
        ("p99 ms", lambda r: r.p99, 1000),
        ("requests/update", lambda r: r.requests, 1),
        ("CPU ms/update", lambda r: r.cpu, 1000),
        ("CPU ms/request", lambda r: r.cpu / r.requests, 1000),
    ]
    print(f"  {'limiter':8} {'bot':9}" + "".join(f" {name:>15}" for name, _, _ in columns))
    med = statistics.median
    for limiter in limiters:
        for bot in BOTS:
            runs = [r[bot, limiter] for r in results]
            print(
                f"  {limiter:8} {bot:9}"
                + "".join(f" {med(f(x) for x in runs) * k:15.2f}" for _, f, k in columns)
            )
        pairs = [(r["tierline", limiter], r["echo", limiter]) for r in results]
        print(
            f"  {limiter:8} {'ratio':9}"
            + "".join(f" {med(_ratio(f(t), f(e)) for t, e in pairs):15.2f}" for _, f, _ in columns)
        )


if __name__ == "__main__":
    main()
