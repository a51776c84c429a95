"""The live operator chat with real processes on one SQLite file: the applicant in
`tierline console --jsonl`, the operator in `tierline staff chat`, both with a fixed clock
inside live hours; the wait running out; not offered outside live hours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, jsonl, run_cli
from tests.pg_server import database_location

NOW = "2026-11-23T10:00"  # Monday, inside live hours


class Applicant:
    """`tierline console --jsonl` kept running: one JSON object back per line sent."""

    def __init__(self, db: Path, now: str = NOW, user: str = "ana") -> None:
        command = ("console", "--jsonl", "--db", str(db), "--now", now, "--user", user)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    def send(self, line: str | dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(
            ((json.dumps(line) if isinstance(line, dict) else line) + "\n").encode()
        )
        self.proc.stdin.flush()
        out = self.proc.stdout.readline()
        assert out, self.proc.stderr.read().decode() if self.proc.stderr else ""
        result: dict[str, Any] = json.loads(out)
        return result

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


def texts(result: dict[str, Any]) -> list[str]:
    """What was said, paragraph by paragraph (a turn's replies come as one message)."""
    return [p for r in result["replies"] for p in r["text"].split("\n\n")]


def buttons(result: dict[str, Any]) -> list[str]:
    return [b["data"] for r in result["replies"] for b in r["buttons"]]


def chat(db: Path, *args: str, staff: str = "kim", now: str = NOW) -> tuple[int, str, str]:
    proc = run_cli("staff", "chat", *args, "--db", str(db), "--now", now, "--staff", staff)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def to_answer(applicant: Applicant) -> dict[str, Any]:
    applicant.send("/start")
    applicant.send({"button": "nav:agent"})
    applicant.send({"button": "role:applicant"})
    return applicant.send({"button": "issue:change_of_address"})


def test_an_operator_chats_with_an_applicant_from_the_staff_console(tmp_path: Path) -> None:
    db = database_location(tmp_path, "live.db")
    ana = Applicant(db)
    try:
        answer = to_answer(ana)
        assert answer["state"] == "tier1.resolved" and "nav:operator" in buttons(answer)
        queued = ana.send({"button": "nav:operator"})
        assert queued["state"] == "tier1.operator_queue" and queued["tier"] == "tier1"
        assert "number 1 in the queue" in texts(queued)[0]
        assert "expected wait is about 4 minutes" in texts(queued)[0]
        kept = ana.send("My card will go to my old address, receipt EAC2190000001")
        assert kept["state"] == "tier1.operator_queue"

        code, out, _ = chat(db, "list", "--json")
        [waiting] = json.loads(out)
        reference = waiting["reference"]
        assert waiting["position"] == 1 and waiting["issue"] == "change_of_address"
        assert "EAC2190000001" not in out and "EAC********01" in waiting["preview"]  # masked

        code, out, err = chat(db, "pick", reference.lower())
        assert code == 0, err
        assert out.startswith(f"You are chatting with {reference} (change_of_address) as Operator ")
        assert "Applicant: My card will go to my old address, receipt EAC2190000001" in out
        name = out.split(" as ", 1)[1].split(".", 1)[0]

        joined = ana.send("Hello, is anyone there?")
        assert joined["state"] == "tier1.operator_chat"
        assert texts(joined) == [
            f"Assistant: {name} has joined the chat. Everything you type now goes to them,"
            " a person. To leave the chat, send /menu."
        ]
        code, out, _ = chat(db, "inbox")
        assert out.splitlines() == [f"{reference} · Applicant: Hello, is anyone there?"]
        assert chat(db, "inbox")[1] == ""  # each message once

        assert chat(db, "send", reference, "Yes, I am here. Let me check.")[0] == 0
        reply = ana.send("Thank you")
        assert texts(reply) == [f"{name}: Yes, I am here. Let me check."]

        # Someone else's chat, an unknown reference: one line each, exit 1, nothing changed.
        code, _, err = chat(db, "pick", reference, staff="lee")
        assert (
            code == 1
            and err == f"tierline staff chat: error: {reference} was already picked up by kim.\n"
        )
        code, _, err = chat(db, "send", "lc-nope99", "hi")
        assert (
            code == 1
            and err == "tierline staff chat: error: No live chat has the reference LC-NOPE99.\n"
        )

        code, out, _ = chat(db, "back", reference, "--json")
        assert (
            code == 0 and json.loads(out)["summary"] == f"{reference} is back with the assistant."
        )
        back = ana.send("/help")
        assert back["state"] == "tier1.resolved"
        assert f"Assistant: {name} has handed you back to me, the automated assistant." in texts(
            back
        )
        assert "t1:officer" in buttons(back)

        code, _, err = chat(db, "send", reference, "One more thing")
        assert code == 1 and err.strip() == (
            f"tierline staff chat: error: {reference} was handed back to the assistant;"
            " nothing was sent."
        )
        assert all("One more thing" not in t for t in texts(ana.send("/help")))
        assert "Applicant: Thank you" in chat(db, "inbox")[1]
    finally:
        ana.close()


def test_the_operator_resolves_books_a_callback_and_sees_the_applicant_leave(
    tmp_path: Path,
) -> None:
    db = database_location(tmp_path, "live.db")
    ana = Applicant(db)
    try:
        to_answer(ana)
        ana.send({"button": "nav:operator"})
        reference = json.loads(chat(db, "list", "--json")[1])[0]["reference"]
        assert chat(db, "pick", reference)[0] == 0
        code, out, err = chat(
            db, "callback", reference, "--phone", "202-555-0143", "--zip", "13202", "--json"
        )
        assert code == 0, err
        booked = json.loads(out)
        assert booked["callback"].startswith("CB-") and booked["slot_at"].startswith("2026-11-23")
        code, out, _ = chat(db, "request", reference)
        assert code == 0 and out.startswith("Service request SR")
        told = "\n".join(texts(ana.send("ok")))
        assert f"Your reference is {booked['callback']}" in told and "service request SR" in told

        ana.send("/menu")  # the applicant walks away
        assert chat(db, "inbox")[1].strip().endswith("The applicant left the chat; it is over.")
        code, _, err = chat(db, "resolve", reference, "--note", "Done")
        assert code == 1 and f"The applicant left {reference}; nothing was sent." in err
    finally:
        ana.close()

    # Another applicant: resolved with a closing note, through the interactive console.
    ben = Applicant(db, user="ben")
    try:
        to_answer(ben)
        ben.send({"button": "nav:operator"})
        ben.send("Can you check my address?")
        proc = run_cli(
            "staff",
            "chat",
            "--db",
            str(db),
            "--now",
            NOW,
            "--staff",
            "kim",
            input="1\nYour address is fine.\n/resolve All set, thank you.\n\n",
        )
        out = proc.stdout.decode()
        assert proc.returncode == 0, proc.stderr.decode()
        assert "Waiting for an operator (1):" in out and "1) LC-" in out
        assert "Applicant: Can you check my address?" in out
        assert "is resolved; the applicant has your note." in out
        closed = texts(ben.send("/help"))
        assert any(t.endswith(": Your address is fine.") for t in closed)
        assert any(t.endswith(": All set, thank you.") for t in closed)
        assert any("has closed the chat" in t for t in closed)
    finally:
        ben.close()


def test_nobody_picking_it_up_in_time_returns_the_applicant_to_the_bot(tmp_path: Path) -> None:
    db = database_location(tmp_path, "wait.db")
    ana = Applicant(db)
    try:
        to_answer(ana)
        ana.send({"button": "nav:operator"})
    finally:
        ana.close()
    # Nine minutes later the chat still waits; at ten the wait has run out.
    assert len(json.loads(chat(db, "list", "--json", now="2026-11-23T10:09")[1])) == 1
    code, out, _ = chat(db, "list", now="2026-11-23T10:10")
    assert code == 0 and out.strip() == "No applicant is waiting for an operator."
    later = Applicant(db, now="2026-11-23T10:12")
    try:
        back = later.send("/help")
    finally:
        later.close()
    assert back["state"] == "tier1.resolved"
    assert texts(back)[0].startswith(
        "Assistant: I'm sorry, no operator was free within 10 minutes."
    )
    assert "t1:officer" in buttons(back) and "nav:operator" not in buttons(back)


def test_outside_live_hours_no_operator_is_offered(tmp_path: Path) -> None:
    db = database_location(tmp_path, "late.db")
    out = jsonl(
        "--db",
        str(db),
        "--now",
        "2026-11-21T11:00",  # a Saturday
        lines=[
            "/start",
            {"button": "nav:agent"},
            {"button": "role:applicant"},
            {"button": "issue:change_of_address"},
            "/operator",
        ],
    )
    assert out[3]["state"] == "tier1.resolved" and "nav:operator" not in buttons(out[3])
    assert out[4]["state"] == "tier1.resolved"
    assert texts(out[4])[0].startswith("Live operators answer Monday to Friday")
    assert chat(db, "list", now="2026-11-21T11:00")[1].strip() == (
        "No applicant is waiting for an operator."
    )
