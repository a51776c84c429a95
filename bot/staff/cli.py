"""The officers' callback queue: `tierline staff`.

Without a subcommand it is interactive: the queue is listed with numbers, you take an item
by its number and record the outcome. For scripts:

    tierline staff queue --json
    tierline staff take CB-7K2M9Q [--staff ID] [--json]
    tierline staff complete CB-7K2M9Q --outcome resolved|appointment|no-answer [--note TEXT]

`--db` and `--now` work as in the console (before or after the subcommand). A refused
action prints one line on stderr and exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from bot.inputs import InputRejected, ask_line, bounded_text
from bot.staff.desk import OUTCOMES

COMMON = ("db", "now", "log_level")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bot.runtime import add_common_options

    add_common_options(parser)
    parser.add_argument(
        "--staff",
        default="console-officer",
        metavar="ID",
        help="who is working the queue (default: console-officer)",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    queue = sub.add_parser("queue", help="list open items, due first")
    take = sub.add_parser("take", help="take an item so no one else works it")
    take.add_argument("reference")
    complete = sub.add_parser("complete", help="record the outcome of the call")
    complete.add_argument("reference")
    complete.add_argument("--outcome", required=True, choices=OUTCOMES)
    complete.add_argument("--note", help="a note for the applicant")
    for child in (queue, take, complete):
        child.add_argument("--json", action="store_true", help="print JSON for scripts")
        add_common_options(child)
        child.add_argument("--staff", metavar="ID", help=argparse.SUPPRESS)
        # Options given after the subcommand must not erase those given before it.
        for action in child._actions:
            if action.dest in (*COMMON, "staff"):
                action.default = argparse.SUPPRESS


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from bot.runtime import clock_from, open_engine, settings_from
    from bot.staff.desk import DeskError, StaffDesk

    settings = settings_from(args)
    clock = clock_from(args, settings)
    async with open_engine(settings, clock) as engine:
        desk = StaffDesk.of(engine.services)
        try:
            _bound_arguments(args, settings.limits)
            if args.action is None:
                return await _interactive(desk, engine, args.staff)
            return await _script(desk, engine.now(), args)
        except DeskError as exc:
            print(f"tierline staff: error: {exc}", file=sys.stderr)
            return 1
        except InputRejected as exc:
            print(f"tierline staff: error: {engine.text(exc.key, **exc.params)}", file=sys.stderr)
            return 1


def _bound_arguments(args: argparse.Namespace, limits: Any) -> None:
    """Arguments made valid text (argv need not be UTF-8) and within `[limits]`; raises
    `InputRejected` for one that is over."""
    for name in ("reference", "staff"):
        if isinstance(getattr(args, name, None), str):
            setattr(args, name, bounded_text(getattr(args, name), limits.staff_arg_chars))
    if isinstance(getattr(args, "note", None), str):
        args.note = bounded_text(args.note, limits.staff_note_chars)


async def _script(desk: Any, now: Any, args: argparse.Namespace) -> int:
    if args.action == "queue":
        items = await desk.queue(now)
        _print(
            args,
            [_item_json(i) for i in items],
            "\n".join(_item_line(desk, n, i) for n, i in enumerate(items, 1))
            or desk.lines.t("tier2.staff.cli.empty"),
        )
    elif args.action == "take":
        item = await desk.take(args.reference, args.staff, now)
        _print(
            args, _item_json(item), desk.lines.t("tier2.staff.cli.taken", reference=item.reference)
        )
    else:
        done = await desk.complete(args.reference, args.outcome, args.note, args.staff, now)
        _print(
            args,
            {"reference": done.reference, "outcome": done.outcome, "summary": done.summary},
            done.summary,
        )
    return 0


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False) if args.json else text)


def _item_json(item: Any) -> dict[str, Any]:
    return {
        "reference": item.reference,
        "kind": item.kind,
        "category": item.category,
        "urgent": item.urgent,
        "due_at": item.due_at.isoformat() if item.due_at else None,
        "status": item.status,
        "summary": item.summary,
    }


def _item_line(desk: Any, number: int, item: Any) -> str:
    return str(desk.lines.cli_item(number, item))


async def _interactive(desk: Any, engine: Any, staff_id: str) -> int:
    from bot.staff.desk import DeskError

    loop = asyncio.get_running_loop()
    limits = engine.services.settings.limits

    async def ask(prompt: str, max_chars: int = limits.staff_arg_chars) -> str | None:
        while True:
            try:
                line = await loop.run_in_executor(None, ask_line, prompt, limits.line_bytes)
                return bounded_text(line.strip(), max_chars)
            except EOFError:
                return None
            except InputRejected as exc:
                print(engine.text(exc.key, **exc.params))

    while True:
        items = await desk.queue(engine.now())
        if not items:
            print(desk.lines.t("tier2.staff.cli.empty"))
            return 0
        print(desk.lines.t("tier2.staff.cli.header"))
        for n, item in enumerate(items, 1):
            print(_item_line(desk, n, item))
        choice = await ask(desk.lines.t("tier2.staff.cli.choose"))
        if not choice:
            return 0
        if not choice.isdigit() or not 1 <= int(choice) <= len(items):
            print(desk.lines.t("tier2.staff.cli.bad_choice"))
            continue
        try:
            item = await desk.take(items[int(choice) - 1].reference, staff_id, engine.now())
            print(desk.lines.t("tier2.staff.cli.taken", reference=item.reference))
            outcome = await ask(desk.lines.t("tier2.staff.cli.outcome"))
            if not outcome:
                continue
            if outcome not in ("1", "2", "3"):
                print(desk.lines.t("tier2.staff.cli.bad_choice"))
                continue
            note = await ask(desk.lines.t("tier2.staff.cli.note"), limits.staff_note_chars) or None
            done = await desk.complete(
                item.reference, OUTCOMES[int(outcome) - 1], note, staff_id, engine.now()
            )
            print(done.summary)
        except DeskError as exc:
            print(exc)
