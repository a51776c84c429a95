"""One lock per key, first come first served: the one per-conversation lock of Tierline.

The engine holds a conversation's lock for the whole of a turn, and the Telegram adapter
holds a chat's lock while it handles that chat's update and while it pushes a notice to it,
so one conversation's turns and messages never interleave while different conversations
run concurrently. A key's lock is dropped when nobody holds or waits for it.

A key nobody holds is taken at once, without an `asyncio.Lock` or a wait (`take`): that is
nearly every turn, since one applicant rarely sends again before the answer. Only a second
taker of a held key waits, in arrival order, and is handed the key by `release`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from types import TracebackType
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class KeyedLocks(Generic[K]):
    def __init__(self) -> None:
        # held key -> who waits for it, in arrival order (None: nobody, the usual case)
        self._held: dict[K, deque[asyncio.Future[None]] | None] = {}

    def hold(self, key: K) -> _Held[K]:
        """`async with locks.hold(key):` runs its body while holding `key`'s lock."""
        return _Held(self, key)

    def take(self, key: K) -> bool:
        """Take `key` when nobody holds it (True), without waiting; False when it is held."""
        held = self._held
        if key in held:
            return False
        held[key] = None  # a queue is made for the first that waits
        return True

    async def wait(self, key: K) -> None:
        """Wait for `key`, held by another, until `release` hands it over (after `take`
        said False)."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting = self._held[key]
        if waiting is None:
            waiting = self._held[key] = deque()
        waiting.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release(key)  # handed the key as it was cancelled: pass it on
            else:
                waiting = self._held.get(key)
                if waiting is not None and waiter in waiting:
                    waiting.remove(waiter)
            raise

    def release(self, key: K) -> None:
        """Hand `key` to the first that waits for it, or drop it when nobody does."""
        waiting = self._held.pop(key)
        while waiting:
            waiter = waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._held[key] = waiting  # still held, by the waiter
                return

    def __len__(self) -> int:
        return len(self._held)


class _Held(Generic[K]):
    """The context of one `hold`: a class, not a generator, because every turn enters one
    (an `asynccontextmanager` costs several times as much per use)."""

    __slots__ = ("_key", "_locks")

    def __init__(self, locks: KeyedLocks[K], key: K) -> None:
        self._locks = locks
        self._key = key

    async def __aenter__(self) -> None:
        if not self._locks.take(self._key):  # held: wait for it (else taken at once)
            await self._locks.wait(self._key)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._locks.release(self._key)
