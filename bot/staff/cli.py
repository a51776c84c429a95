"""The officers' queue: `tierline staff`.

Without a subcommand it is interactive: the queue is listed with numbers, you take an item
by its number, read its full record and record the outcome (or release it, or hand it
over). For scripts:

    tierline staff queue --json
    tierline staff take CB-7K2M9Q [--staff ID] [--json]      # the full record, audited
    tierline staff show CB-7K2M9Q [--json]                   # again, for its holder
    tierline staff complete CB-7K2M9Q --outcome OUTCOME [--note TEXT]
        [--at YYYY-MM-DD[THH:MM]] [--bring TEXT ...] [--receipt RECEIPT]
    tierline staff release CB-7K2M9Q
    tierline staff handover CB-7K2M9Q --to ID
    tierline staff chat ...   (live chats with applicants: see `tierline staff chat --help`)

Outcomes: resolved, appointment, biometrics, refused (the note is the reason), no-answer.
References are read in any case. `--db` and `--now` work as in the console (before or
after the subcommand). A refused action prints one line on stderr, changes nothing and
exits with status 1.
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
    queue = sub.add_parser("queue", help="list open items, the soonest due first")
    take = sub.add_parser("take", help="take an item and see its full record")
    take.add_argument("reference")
    show = sub.add_parser("show", help="see the full record of an item you hold")
    show.add_argument("reference")
    complete = sub.add_parser("complete", help="record the outcome")
    complete.add_argument("reference")
    complete.add_argument("--outcome", required=True, choices=OUTCOMES)
    complete.add_argument("--note", help="a note for the applicant (a refusal's reason)")
    complete.add_argument(
        "--at",
        metavar="WHEN",
        help="appointment: the visit's day or day and time (2026-11-27 or 2026-11-27T09:30);"
        " biometrics: the new time",
    )
    complete.add_argument(
        "--bring",
        action="append",
        default=[],
        metavar="TEXT",
        help="appointment: something else to bring (repeatable)",
    )
    complete.add_argument(
        "--receipt", help="biometrics: the case's receipt number, when the item has none"
    )
    release = sub.add_parser("release", help="put an item you hold back in the queue")
    release.add_argument("reference")
    handover = sub.add_parser("handover", help="hand an item you hold to another officer")
    handover.add_argument("reference")
    handover.add_argument("--to", required=True, metavar="ID", help="the officer's id")
    from bot.staff.chat_cli import add_chat_parser

    add_chat_parser(sub)  # `tierline staff chat`: live chats with applicants (Tier 1)
    for child in (queue, take, show, complete, release, handover):
        child.add_argument("--json", action="store_true", help="print JSON for scripts")
        add_common_options(child)
        child.add_argument("--staff", metavar="ID", help=argparse.SUPPRESS)
        # Options given after the subcommand must not erase those given before it.
        for action in child._actions:
            if action.dest in (*COMMON, "staff"):
                action.default = argparse.SUPPRESS


def run(args: argparse.Namespace) -> int:
    if args.action == "chat":
        from bot.staff import chat_cli

        return chat_cli.run(args)
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
    from bot.staff.desk import DeskError, parse_when
    from bot.staff.lines import item_json, view_json

    if args.action == "queue":
        items = await desk.queue(now)
        _print(
            args,
            [item_json(i) for i in items],
            "\n".join(desk.lines.cli_item(n, i) for n, i in enumerate(items, 1))
            or desk.lines.t("tier2.staff.cli.empty"),
        )
        return 0
    if args.action in ("take", "show"):
        act = desk.take if args.action == "take" else desk.show
        view = await act(args.reference, args.staff, now)
        _print(args, view_json(view), desk.lines.view(view))
        return 0
    if args.action == "release":
        done = await desk.release(args.reference, args.staff, now)
    elif args.action == "handover":
        done = await desk.hand_over(args.reference, args.staff, args.to, now)
    else:
        at = None
        if args.at is not None:
            at = parse_when(args.at)
            if at is None:
                raise DeskError(desk.lines.t("tier2.staff.error.bad_when", when=args.at))
        done = await desk.complete(
            args.reference,
            args.outcome,
            args.note,
            args.staff,
            now,
            at=at,
            bring=args.bring,
            receipt=args.receipt,
        )
    _print(
        args,
        {"reference": done.reference, "outcome": done.outcome, "summary": done.summary},
        done.summary,
    )
    return 0


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False) if args.json else text)


# ---- interactive ---------------------------------------------------------------------------

# The interactive menu after taking an item: outcomes that fit, then the two queue actions.
_QUEUE_ACTIONS = ("release", "handover")


async def _interactive(desk: Any, engine: Any, staff_id: str) -> int:
    from bot.staff.desk import DeskError

    loop = asyncio.get_running_loop()
    t = desk.lines.t
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
            print(t("tier2.staff.cli.empty"))
            return 0
        print(t("tier2.staff.cli.header"))
        for n, item in enumerate(items, 1):
            print(desk.lines.cli_item(n, item))
        choice = await ask(t("tier2.staff.cli.choose"))
        if not choice:
            return 0
        if not choice.isdigit() or not 1 <= int(choice) <= len(items):
            print(t("tier2.staff.cli.bad_choice"))
            continue
        try:
            view = await desk.take(items[int(choice) - 1].reference, staff_id, engine.now())
            print(t("tier2.staff.cli.taken", reference=view.reference))
            print(desk.lines.view(view))
            await _work(desk, engine, staff_id, view, ask)
        except DeskError as exc:
            print(exc)


async def _work(desk: Any, engine: Any, staff_id: str, view: Any, ask: Any) -> None:
    """One taken item: pick what to do with it until something is recorded (or Enter)."""
    from bot.staff.desk import DeskError, parse_when

    t = desk.lines.t
    actions = [*view.outcomes, *_QUEUE_ACTIONS]
    menu = "  ".join(f"{n}) {a}" for n, a in enumerate(actions, 1))
    while True:
        picked = await ask(t("tier2.staff.cli.outcome", choices=menu))
        if not picked:
            return  # left taken: it is the officer's until released or recorded
        if not picked.isdigit() or not 1 <= int(picked) <= len(actions):
            print(t("tier2.staff.cli.bad_choice"))
            continue
        action = actions[int(picked) - 1]
        try:
            if action == "release":
                done = await desk.release(view.reference, staff_id, engine.now())
            elif action == "handover":
                to = await ask(t("tier2.staff.cli.handover_to")) or ""
                done = await desk.hand_over(view.reference, staff_id, to, engine.now())
            else:
                at, bring = None, []
                if action in ("appointment", "biometrics"):
                    typed = await ask(t(f"tier2.staff.cli.at_{action}")) or ""
                    if typed:
                        at = parse_when(typed)
                        if at is None:
                            print(t("tier2.staff.error.bad_when", when=typed))
                            continue
                if action == "appointment":
                    extra = await ask(t("tier2.staff.cli.bring"))
                    bring = [extra] if extra else []
                key = "tier2.staff.cli.reason" if action == "refused" else "tier2.staff.cli.note"
                limits = engine.services.settings.limits
                note = await ask(t(key), limits.staff_note_chars) or None
                done = await desk.complete(
                    view.reference, action, note, staff_id, engine.now(), at=at, bring=bring
                )
        except DeskError as exc:
            print(exc)
            continue
        print(done.summary)
        return
