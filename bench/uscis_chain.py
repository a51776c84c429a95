"""Benchmark: case lookups per second through the chain of case sources (recent cached
answer -> USCIS Case Status API -> imported cases), against the fake USCIS server of the
tests over real HTTP on 127.0.0.1 (nothing reaches the internet).

Three figures, from one run on one database:
- `local`: the imported cases only (`case_source = "local"`), the floor;
- `warm`: the live source with every receipt answered recently (the cache serves it);
- `cold`: the live source with the cache off (`cache_minutes = 0`): every lookup is a call
  to the fake API over loopback (its token fetched once), paced by `requests_per_second`.

Usage:

    python bench/uscis_chain.py [--lookups 5000] [--receipts 50] [--rps 1000]

The machines this runs on are small and noisy: compare figures printed in one run only.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def _measure(args: argparse.Namespace) -> None:
    from bot.assembly import create_engine
    from bot.clock import SystemClock
    from bot.config import load_settings
    from bot.storage.database import Database
    from tests.fake_uscis import FakeUscis, _case

    with tempfile.TemporaryDirectory() as tmp, FakeUscis() as fake:
        receipts = [f"EAC99991{n:05d}" for n in range(args.receipts)]
        for receipt in receipts:
            fake.state.cases[receipt] = _case(receipt, "I-485", "Case Was Received", "<p>x</p>")
        results: dict[str, float] = {}
        for name, source, cache in (
            ("local", "local", 60),
            ("warm", "uscis", 60),
            ("cold", "uscis", 0),
        ):
            settings = load_settings(
                db_path=Path(tmp) / f"{name}.db",
                case_source=source,
                uscis=fake.settings(requests_per_second=args.rps, cache_minutes=cache),
            )
            db = await Database.open(settings.db_path)
            engine = await create_engine(settings, db, SystemClock(settings.tz))
            cases = engine.services.ports.cases
            wanted = (
                ["EAC2190000001", "MSC2221234567", "EAC2398765432"]
                if source == "local"
                else receipts
            )
            for receipt in wanted:  # warm up (and fill the cache)
                await cases.find(receipt)
            count = args.lookups if name != "cold" else min(args.lookups, args.cold_lookups)
            start = time.perf_counter()
            for i in range(count):
                found = await cases.find(wanted[i % len(wanted)])
                assert found.record is not None
            elapsed = time.perf_counter() - start
            results[name] = count / elapsed
            client = getattr(cases, "client", None)
            if client is not None:
                await client.close()
            await db.close()
        print(
            f"{platform.machine()} {platform.python_version()} SQLite {sqlite3.sqlite_version},"
            f" {args.receipts} receipts"
        )
        for name, rate in results.items():
            print(f"{name:>5}: {rate:8.0f} lookups/s  ({rate / results['local']:.2f} x local)")
        print(f"fake API calls: {len(fake.case_calls)}, token requests: {fake.token_calls}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lookups", type=int, default=5000)
    parser.add_argument("--cold-lookups", type=int, default=1000)
    parser.add_argument("--receipts", type=int, default=50)
    parser.add_argument("--rps", type=float, default=1000.0, help="the client's rate limit")
    asyncio.run(_measure(parser.parse_args()))


if __name__ == "__main__":
    main()
