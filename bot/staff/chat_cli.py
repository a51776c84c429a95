"""Live chats with applicants, for Tier 1 operators: `tierline staff chat`.

Without an action it is interactive: the applicants waiting for an operator are listed with
numbers; pick one up by its number or reference, then type to write to the applicant while
their messages are shown as they come. In the chat, /back hands the applicant back to the
assistant, /resolve [note] closes the chat with a note, /request [issue] opens a service
request, /callback PHONE [ZIP] [urgent] books an officer callback for them, /quit leaves
(the chat stays yours: run the command again to resume it). For scripts:

    tierline staff chat list [--json]
    tierline staff chat pick LC-7K2M9Q [--json]
    tierline staff chat send LC-7K2M9Q "Hello, I am looking at your case now."
    tierline staff chat inbox [--json]          # what the applicants wrote, each line once
    tierline staff chat back LC-7K2M9Q
    tierline staff chat resolve LC-7K2M9Q --note "Your address is updated."
    tierline staff chat request LC-7K2M9Q [--issue notice_not_received]
    tierline staff chat callback LC-7K2M9Q --phone 202-555-0143 [--zip 13202] [--urgent]

`--staff ID` names the operator (as for `tierline staff`); `--db` and `--now` work as in the
console. References are case-insensitive. A refused action prints one line on stderr and
exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

COMMON = ("db", "now", "log_level", "staff", "json")


def add_chat_parser(sub: Any) -> None:
    """The `chat` action of `tierline staff` and its own actions."""
    chat = sub.add_parser(
        "chat",
        help="live chats with applicants waiting for a Tier 1 operator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chat.add_argument(
        "--poll",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="interactive: how often new messages are looked for (default: 1)",
    )
    actions = chat.add_subparsers(dest="chat_action", metavar="ACTION")
    children = [chat]
    children.append(actions.add_parser("list", help="applicants waiting, the longest first"))
    pick = actions.add_parser("pick", help="pick a waiting chat up (or resume your own)")
    pick.add_argument("reference")
    send = actions.add_parser("send", help="write to the applicant")
    send.add_argument("reference")
    send.add_argument("text", nargs="+")
    children += [pick, send]
    children.append(actions.add_parser("inbox", help="what reached you since you last looked"))
    back = actions.add_parser("back", help="hand the applicant back to the assistant")
    back.add_argument("reference")
    resolve = actions.add_parser("resolve", help="close the chat with a note to the applicant")
    resolve.add_argument("reference")
    resolve.add_argument("--note", default="", help="the closing note the applicant reads")
    request = actions.add_parser("request", help="open a service request for the applicant")
    request.add_argument("reference")
    request.add_argument("--issue", help="the issue id (default: the one the applicant gave)")
    callback = actions.add_parser("callback", help="book an officer callback for the applicant")
    callback.add_argument("reference")
    callback.add_argument("--phone", required=True, help="the number the officer will call")
    callback.add_argument("--zip", help="the applicant's ZIP code (finds the field office)")
    urgency = callback.add_mutually_exclusive_group()
    urgency.add_argument("--urgent", action="store_true", default=None, help="an urgent one")
    urgency.add_argument("--regular", dest="urgent", action="store_false", help="a regular one")
    children += [back, resolve, request, callback]
    _with_common_options(children)


def _with_common_options(parsers: list[argparse.ArgumentParser]) -> None:
    from bot.runtime import add_common_options

    for parser in parsers:
        parser.add_argument("--json", action="store_true", help="print JSON for scripts")
        add_common_options(parser)
        parser.add_argument("--staff", metavar="ID", help="who is working (the operator)")
        # Options given after an action must not erase those given before it.
        for action in parser._actions:
            if action.dest in COMMON:
                action.default = argparse.SUPPRESS


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from bot.runtime import clock_from, open_engine, settings_from
    from bot.staff.live import LiveChatError, LiveDesk

    settings = settings_from(args)
    async with open_engine(settings, clock_from(args, settings)) as engine:
        desk = LiveDesk(engine)
        await engine.tick()  # waits that ran out go back to the assistant first
        try:
            if getattr(args, "chat_action", None) is None:
                return await _interactive(desk, args.staff, args.poll)
            return await _script(desk, args)
        except LiveChatError as exc:
            print(f"tierline staff chat: error: {exc}", file=sys.stderr)
            return 1


async def _script(desk: Any, args: argparse.Namespace) -> int:
    now, staff, action = desk.engine.now(), args.staff, args.chat_action
    as_json = getattr(args, "json", False)
    if action == "list":
        chats = await desk.waiting(now)
        if as_json:
            _print_json([_chat_json(c) for c in chats])
        else:
            print(_listing(desk, chats))
    elif action == "pick":
        picked = await desk.pick(args.reference, staff, now)
        if as_json:
            _print_json(_picked_json(picked))
        else:
            print(_picked_text(desk, picked))
    elif action == "send":
        await desk.say(args.reference, staff, " ".join(args.text), now)
        if as_json:
            _print_json({"reference": args.reference.strip().upper(), "sent": True})
    elif action == "inbox":
        lines = await desk.inbox(staff, now)
        if as_json:
            _print_json(lines)
        elif lines:
            print("\n".join(lines))
    else:
        summary, extra = await _act(desk, args, now)
        if as_json:
            _print_json({"reference": args.reference.strip().upper(), "summary": summary, **extra})
        else:
            print(summary)
    return 0


async def _act(desk: Any, args: argparse.Namespace, now: Any) -> tuple[str, dict[str, Any]]:
    staff, ref = args.staff, args.reference
    if args.chat_action == "back":
        return await desk.hand_back(ref, staff, now), {}
    if args.chat_action == "resolve":
        return await desk.resolve(ref, staff, args.note, now), {}
    if args.chat_action == "request":
        return await desk.service_request(ref, staff, args.issue, now), {}
    summary, booked = await desk.callback(ref, staff, args.phone, args.zip, args.urgent, now)
    return summary, {"callback": booked.reference, "slot_at": booked.slot_at.isoformat()}


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False))


def _chat_json(chat: Any) -> dict[str, Any]:
    return {
        "reference": chat.reference,
        "position": chat.position,
        "waited_minutes": chat.waited_minutes,
        "issue": chat.issue,
        "preview": chat.preview,
    }


def _picked_json(picked: Any) -> dict[str, Any]:
    entry = picked.entry
    return {
        "reference": entry.reference,
        "status": entry.status,
        "issue": entry.issue,
        "name": picked.name,
        "history": [
            {"sender": m.sender, "text": m.text, "at": m.at.isoformat()} for m in picked.history
        ],
    }


def _listing(desk: Any, chats: list[Any]) -> str:
    if not chats:
        return str(desk.t("empty"))
    lines = [desk.t("header", count=len(chats))]
    lines += [f"{c.position}) {desk.waiting_line(c)}" for c in chats]
    return "\n".join(lines)


def _picked_text(desk: Any, picked: Any) -> str:
    entry = picked.entry
    lines = [
        desk.t(
            "picked",
            reference=entry.reference,
            issue=entry.issue or desk.t("no_issue"),
            name=picked.name,
        )
    ]
    if picked.history:
        lines.append(desk.t("history"))
        lines += ["  " + line for line in desk.history_lines(picked.history)]
    return "\n".join(lines)


# ---- interactive ----------------------------------------------------------------------------


async def _interactive(desk: Any, staff: str, poll: float) -> int:
    from bot.staff.live import LiveChatError

    loop = asyncio.get_running_loop()

    async def ask(prompt: str) -> str | None:
        try:
            return (await loop.run_in_executor(None, input, prompt)).strip()
        except EOFError:
            return None

    while True:
        current = await desk.current(staff)
        if current is not None:  # resume the chat left open
            picked = await desk.pick(current.reference, staff, desk.engine.now())
        else:
            chats = await desk.waiting(desk.engine.now())
            print(_listing(desk, chats))
            choice = await ask(desk.services.messages.text("tier1.live_chat.staff.cli.choose"))
            if not choice:
                return 0
            if choice.isdigit() and 1 <= int(choice) <= len(chats):
                choice = chats[int(choice) - 1].reference
            try:
                picked = await desk.pick(choice, staff, desk.engine.now())
            except LiveChatError as exc:
                print(exc)
                continue
        print(_picked_text(desk, picked))
        print(desk.services.messages.text("tier1.live_chat.staff.cli.help"))
        if not await _relay(desk, staff, picked.entry.reference, poll, ask):
            return 0


async def _relay(desk: Any, staff: str, reference: str, poll: float, ask: Any) -> bool:
    """One chat until it ends (True: back to the list) or the operator quits (False)."""
    from bot.staff.live import LiveChatError

    over = asyncio.Event()

    async def show_incoming() -> None:
        while not over.is_set():
            await desk.engine.tick()
            for line in await desk.inbox(staff, desk.engine.now()):
                print(line, flush=True)
            entry = await desk.ports.handoffs.get(reference)
            if entry is None or entry.status != "live" or entry.operator != staff:
                over.set()
                print(
                    desk.services.messages.text(
                        "tier1.live_chat.staff.cli.over", reference=reference
                    ),
                    flush=True,
                )
                return
            await asyncio.sleep(poll)

    watcher = asyncio.create_task(show_incoming())
    prompt = desk.services.messages.text("tier1.live_chat.staff.cli.prompt")
    try:
        while True:
            line = await ask(prompt)
            if line is None or line.lower() in ("/quit", "/exit"):
                return False
            if over.is_set():
                return True
            if not line:
                continue
            try:
                done, ended = await _chat_command(desk, staff, reference, line)
            except LiveChatError as exc:
                print(exc)
                continue
            if done:
                print(done)
            if ended:
                return True
    finally:
        over.set()
        await watcher


async def _chat_command(desk: Any, staff: str, reference: str, line: str) -> tuple[str, bool]:
    """Carry out one line typed in a chat: (what to print, whether the chat is over)."""
    now = desk.engine.now()
    word, _, rest = line.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word == "/back":
        return str(await desk.hand_back(reference, staff, now)), True
    if word == "/resolve":
        return str(await desk.resolve(reference, staff, rest, now)), True
    if word == "/request":
        return str(await desk.service_request(reference, staff, rest or None, now)), False
    if word == "/callback":
        parts = rest.split()
        urgent = True if "urgent" in (p.lower() for p in parts) else None
        parts = [p for p in parts if p.lower() != "urgent"]
        if not parts:
            usage = desk.services.messages.text("tier1.live_chat.staff.telegram.callback_usage")
            return str(usage), False
        zip_code = parts[1] if len(parts) > 1 else None
        summary, _ = await desk.callback(reference, staff, parts[0], zip_code, urgent, now)
        return str(summary), False
    await desk.say(reference, staff, line, now)
    return "", False
