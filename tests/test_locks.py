"""The per-conversation lock: one holder at a time per key, first come first served,
other keys never wait, and nothing is kept for a key nobody holds or waits for."""

from __future__ import annotations

import asyncio

import pytest

from bot.locks import KeyedLocks


async def test_one_holder_per_key_in_arrival_order_and_other_keys_run() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with locks.hold("a"):
            order.append("a1 in")
            await release.wait()
            order.append("a1 out")

    async def second() -> None:
        async with locks.hold("a"):
            order.append("a2 in")

    async def other() -> None:
        async with locks.hold("b"):
            order.append("b in")

    tasks = [asyncio.create_task(first())]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(second()))
    tasks.append(asyncio.create_task(other()))
    await asyncio.sleep(0.01)
    assert order == ["a1 in", "b in"]  # the second "a" waits; "b" did not
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["a1 in", "b in", "a1 out", "a2 in"]
    assert len(locks) == 0


async def test_an_error_or_a_cancelled_waiter_leaves_no_lock_behind() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    with pytest.raises(RuntimeError):
        async with locks.hold("a"):
            raise RuntimeError("boom")
    assert len(locks) == 0

    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("a"):
            held.set()
            await release.wait()

    async def waiter() -> None:
        async with locks.hold("a"):
            pass

    h = asyncio.create_task(holder())
    await held.wait()
    w = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    w.cancel()
    with pytest.raises(asyncio.CancelledError):
        await w
    release.set()
    await h
    assert len(locks) == 0
    async with locks.hold("a"):  # and the key can be held again
        pass


async def test_a_waiter_cancelled_before_or_after_being_handed_the_key_passes_it_on() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    order: list[str] = []

    async def waiter(name: str) -> None:
        async with locks.hold("a"):
            order.append(name)

    assert locks.take("a")  # held by the test itself
    tasks = {n: asyncio.create_task(waiter(n)) for n in ("w1", "w2", "w3", "w4")}
    await asyncio.sleep(0)
    tasks["w2"].cancel()  # cancelled while waiting
    await asyncio.sleep(0)
    locks.release("a")  # handed to w1 ...
    tasks["w1"].cancel()  # ... which is cancelled before it runs: w3 gets it
    for name, task in tasks.items():
        if name in ("w1", "w2"):
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            await task
    assert order == ["w3", "w4"]
    assert len(locks) == 0
