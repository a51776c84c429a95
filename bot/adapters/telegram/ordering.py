"""One chat at a time, many chats at once, and a chat that must wait waits alone.

Everything the bot does for a chat (handling its updates, sending its replies and
notices) runs as steps of that chat, and `ChatScheduler` runs them: one chat's steps one
after another, in order, while up to `workers` chats run at once. A step says what comes
next: more work now (the chat goes to the back of the line, so a busy chat does not starve
the others), nothing, or not before some moment (Telegram failed for this chat and it backs
off, or its pacing slot is not yet there). A waiting chat holds no worker, so a chat whose
sends fail never delays another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# What a step returns: True (more to do now), False (nothing left), or a loop time before
# which the chat is not run again.
Next = bool | float
Step = Callable[[int], Awaitable[Next]]

_QUEUED, _RUNNING, _WAITING = "queued", "running", "waiting"
_AFTER_A_BUG = 1.0  # seconds a chat rests after a step that raised


class ChatScheduler:
    def __init__(self, step: Step, *, workers: int) -> None:
        self._step = step
        self._workers = workers
        self._ready: asyncio.Queue[int] = asyncio.Queue()
        self._state: dict[int, str] = {}
        self._poked: set[int] = set()  # poked while running: run again after the step
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stepping: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._idle = asyncio.Event()  # set when nothing runs and nothing is queued

    def start(self) -> None:
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._work(), name=f"tierline-telegram-chats-{n}")
            for n in range(self._workers)
        ]

    def poke(self, chat: int) -> None:
        """`chat` has (or may have) work: run it unless it is queued, or waiting for its
        moment; a chat running now runs again after its step."""
        state = self._state.get(chat)
        if state is None:
            self._queue(chat)
        elif state == _RUNNING:
            self._poked.add(chat)

    async def stop(self, grace: float) -> None:
        """Go on with the work there is for up to `grace` seconds (nothing new comes in
        by then), then cancel what still runs. Work not done stays where it is kept (the
        inbox, the outbox) for the next start."""
        self._note_idle()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), max(grace, 0))
        self._stopping = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        cut = len(self._stepping)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if cut:
            log.warning("stopping: the work of %d chat(s) was cut short; it is kept", cut)

    # ---- running ------------------------------------------------------------------------

    def _note_idle(self) -> None:
        if not self._stepping and self._ready.empty():
            self._idle.set()
        else:
            self._idle.clear()

    def _queue(self, chat: int) -> None:
        self._idle.clear()
        self._state[chat] = _QUEUED
        self._ready.put_nowait(chat)

    def _wake(self, chat: int) -> None:
        self._timers.pop(chat, None)
        if self._state.get(chat) == _WAITING:
            self._queue(chat)

    async def _work(self) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        while not self._stopping:
            chat = await self._ready.get()
            self._state[chat] = _RUNNING
            self._poked.discard(chat)
            self._stepping.add(task)
            try:
                after: Next = await self._step(chat)
            except Exception:  # a bug in a step must not stop the chat, nor the others
                log.exception("a step of a chat failed; it rests %.0f s", _AFTER_A_BUG)
                after = loop.time() + _AFTER_A_BUG
            finally:
                self._stepping.discard(task)
            if self._stopping:
                return
            if after is True or (after is False and chat in self._poked):
                self._queue(chat)
            elif after is False:
                del self._state[chat]
            else:
                self._state[chat] = _WAITING
                self._timers[chat] = loop.call_at(float(after), self._wake, chat)
            self._note_idle()
