"""Messages per turn: how many chat messages each turn of the shipped scenarios sends.

    python bench/messages.py [config/scenarios] [--json]

Every scenario is played through the engine (as `tierline scenarios run` does) and each
input step's replies are counted as the messages a chat would show, a text longer than
Telegram's 4,096 characters counting as the pieces it is sent in. Outbox notices shown in
the same turn (a callback confirmation on the console) are counted with the turn; Telegram
pushes those as messages of their own. Compare two trees by running each tree's copy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.trainer.runner import run_scenario
from bot.trainer.scenario import load_scenario

TELEGRAM_LIMIT = 4096


def pieces(text: str) -> int:
    return max(1, -(-len(text) // TELEGRAM_LIMIT))


async def count(folder: Path) -> dict[str, list[int]]:
    """Messages of every input turn, by scenario file name."""
    found: dict[str, list[int]] = {}
    paths = sorted(folder.glob("*.yaml"))  # noqa: ASYNC240 (a benchmark, before any turn runs)
    for path in paths:
        report = await run_scenario(load_scenario(path))
        found[path.name] = [
            sum(pieces(r.text) for r in step.result.replies)
            for step in report.steps
            if step.result is not None
        ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="config/scenarios", type=Path)
    parser.add_argument("--json", action="store_true", help="one JSON object for scripts")
    args = parser.parse_args()
    found = asyncio.run(count(args.folder))
    every = [n for turns in found.values() for n in turns]
    if args.json:
        print(json.dumps({"scenarios": found, "turns": len(every), "messages": sum(every)}))
        return
    for name, turns in found.items():
        print(
            f"{name:55} {len(turns):3} turns {sum(turns):4} messages"
            f"  mean {statistics.mean(turns):.2f}  max {max(turns)}"
        )
    print(
        f"{'all':55} {len(every):3} turns {sum(every):4} messages"
        f"  mean {statistics.mean(every):.2f}  max {max(every)}"
        f"  turns with more than one: {sum(n > 1 for n in every)}"
    )


if __name__ == "__main__":
    main()
