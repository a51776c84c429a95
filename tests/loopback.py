"""A fake outside server (Telegram's Bot API, the USCIS API) on 127.0.0.1, running on an
event loop of its own in a thread, so that the code under test talks to it over real HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopbackServer:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    def _on_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the server's loop and wait for it (5 s at most)."""
        if not self._thread.is_alive():
            self._thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(5)

    def _end_loop(self, close: Coroutine[Any, Any, None]) -> None:
        """Run `close` on the server's loop, then stop the loop and its thread."""
        self._on_loop(close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
