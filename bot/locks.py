"""One lock per key, first come first served: the one per-conversation lock of Tierline.

The engine holds a conversation's lock for the whole of a turn, and the Telegram adapter
holds a chat's lock while it handles that chat's update and while it pushes a notice to it,
so one conversation's turns and messages never interleave while different conversations
run concurrently. A key's lock is dropped when nobody holds or waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from types import TracebackType
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class KeyedLocks(Generic[K]):
    def __init__(self) -> None:
        self._locks: dict[K, tuple[asyncio.Lock, list[int]]] = {}

    def hold(self, key: K) -> _Held[K]:
        """`async with locks.hold(key):` runs its body while holding `key`'s lock."""
        return _Held(self._locks, key)

    def __len__(self) -> int:
        return len(self._locks)


class _Held(Generic[K]):
    """The context of one `hold`: a class, not a generator, because every turn enters one
    (an `asynccontextmanager` costs several times as much per use)."""

    __slots__ = ("_key", "_lock", "_locks")

    def __init__(self, locks: dict[K, tuple[asyncio.Lock, list[int]]], key: K) -> None:
        self._locks = locks
        self._key = key

    async def __aenter__(self) -> None:
        entry = self._locks.get(self._key)
        if entry is None:
            entry = self._locks[self._key] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            await lock.acquire()
        except BaseException:
            self._release_user(users)
            raise
        self._lock = lock

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()
        self._release_user(self._locks[self._key][1])

    def _release_user(self, users: list[int]) -> None:
        users[0] -= 1
        if users[0] == 0:
            del self._locks[self._key]
