"""`tierline console --jsonl`: the machine contract, in a real subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import jsonl, run_cli
from tests.pg_server import database_location


def _check_shape(obj: dict) -> None:
    assert set(obj) == {"state", "tier", "replies"}
    assert obj["tier"] in {"automated", "tier1", "tier2", "closed"}
    assert isinstance(obj["state"], str) and obj["state"].split(".")[0] == obj["tier"]
    assert obj["replies"], "every input gets at least one reply"
    for reply in obj["replies"]:
        assert set(reply) == {"text", "buttons"} and reply["text"]
        for button in reply["buttons"]:
            assert set(button) == {"label", "data"}
            assert len(button["data"].encode()) <= 64


def test_start_answers_with_the_main_menu(tmp_path: Path) -> None:
    [out] = jsonl("--db", str(database_location(tmp_path, "t.db")), lines=["/start"])
    _check_shape(out)
    assert out["state"] == "automated.menu" and out["tier"] == "automated"
    labels = [b["label"] for r in out["replies"] for b in r["buttons"]]
    assert "Talk to a person" in labels


def test_json_text_and_button_inputs_are_understood(tmp_path: Path) -> None:
    outs = jsonl(
        "--db",
        str(database_location(tmp_path, "t.db")),
        "--user",
        "alice",
        lines=[{"text": "/start"}, {"button": "nav:agent"}],
    )
    assert [o["state"] for o in outs] == ["automated.menu", "tier1.intake"]
    assert outs[1]["tier"] == "tier1"


def test_hostile_input_gets_one_valid_reply_per_line_and_no_crash(tmp_path: Path) -> None:
    lines = [
        b"/start",
        b"",  # empty line
        b"x" * 10_240,  # a 10 KB line
        b"\x00\x07\x1b[2J\x7f",  # control characters
        b'{"text": "unterminated',  # invalid JSON: treated as plain text
        b'{"button": 42}',  # a JSON object of the wrong shape
        b"[1, 2, 3]",  # JSON, but not an object: plain text
        b"\xff\xfe\xc3\x28 caf\xe9",  # not UTF-8
        b'{"button": "go:delete_everything"}',  # a forged button
        b"/help",
    ]
    proc = run_cli(
        "console",
        "--jsonl",
        "--db",
        str(database_location(tmp_path, "t.db")),
        input=b"\n".join(lines) + b"\n",
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    outs = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(outs) == len(lines)
    for out in outs:
        _check_shape(out)
        assert out["state"] == "automated.menu"  # none of it moved the conversation
    assert "empty" in outs[1]["replies"][0]["text"]
    assert "too long" in outs[2]["replies"][0]["text"]
    assert "no longer active" in outs[8]["replies"][0]["text"]


def test_no_output_before_the_first_input(tmp_path: Path) -> None:
    proc = run_cli(
        "console", "--jsonl", "--db", str(database_location(tmp_path, "t.db")), input=b""
    )
    assert proc.returncode == 0 and proc.stdout == b""


def test_trace_goes_to_stderr_and_names_the_rule(tmp_path: Path) -> None:
    proc = run_cli(
        "console",
        "--jsonl",
        "--trace",
        "--db",
        str(database_location(tmp_path, "t.db")),
        input="/start\n/agent\n",
    )
    assert proc.returncode == 0
    assert len(proc.stdout.decode().splitlines()) == 2
    trace = proc.stderr.decode()
    assert "automated.menu --escalate--> tier1.intake" in trace
    assert "asked to talk to a person" in trace


def test_a_conversation_continues_across_runs_on_the_same_database(tmp_path: Path) -> None:
    db = str(database_location(tmp_path, "t.db"))
    jsonl("--db", db, "--user", "bob", lines=["/start", {"button": "nav:agent"}])
    [out] = jsonl("--db", db, "--user", "bob", lines=["/help"])
    assert out["state"] == "tier1.intake"
    [other] = jsonl("--db", db, "--user", "carol", lines=["/help"])
    assert other["state"] == "automated.menu"


def test_an_unusable_database_path_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("console", "--jsonl", "--db", str(blocker / "t.db"), input="/start\n")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.startswith("tierline: error:") and "Traceback" not in err


def test_a_bad_now_is_refused_by_the_command_line(tmp_path: Path) -> None:
    proc = run_cli("console", "--jsonl", "--now", "next tuesday", input="/start\n")
    assert proc.returncode == 2 and "ISO" in proc.stderr.decode()


def test_the_console_never_loads_telegram_code(tmp_path: Path) -> None:
    code = (
        "import sys, io, asyncio\n"
        "from bot.cli import main\n"
        "sys.stdin = io.TextIOWrapper(io.BytesIO(b'/start\\n'))\n"
        f"main(['console', '--jsonl', '--db', {str(tmp_path / 't.db')!r}])\n"
        "assert not any(m == 'telegram' or m.startswith('telegram.') for m in sys.modules), "
        "'telegram was imported'\n"
    )
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()


def test_the_interactive_console_resumes_a_conversation_instead_of_restarting(
    tmp_path: Path,
) -> None:
    db = str(database_location(tmp_path, "t.db"))
    first = run_cli("console", "--db", db, input="6\n/quit\n")  # 6) Talk to a person
    assert first.returncode == 0, first.stderr.decode()
    assert "1) Check a case status" in first.stdout.decode()
    second = run_cli("console", "--db", db, input="/quit\n")
    out = second.stdout.decode()
    assert "continues where you left it" in out
    # The question it was waiting on, with its choices numbered; no internal state names.
    assert "First, who are you in this case?" in out
    assert "1) I am the applicant" in out
    assert "tier1.intake" not in out and "automated" not in out
    assert "Check a case status" not in out
    # The numbers of that list work at once.
    third = run_cli("console", "--db", db, input="1\n/quit\n")
    assert "What do you need help with?" in third.stdout.decode()


def test_a_typo_in_a_numbered_list_keeps_its_numbers(tmp_path: Path) -> None:
    db = str(database_location(tmp_path, "t.db"))
    # 6) Talk to a person; a typo; then 1) still means "I am the applicant".
    proc = run_cli("console", "--db", db, input="6\nblah\n1\n/quit\n")
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    typo = out[out.index("can't take that as an answer") :]
    assert "1) I am the applicant" in typo  # the list is shown with the same numbers
    assert "1) Main menu" not in out
    assert "What do you need help with?" in typo


def test_one_process_serves_several_applicants_and_moves_its_clock(tmp_path: Path) -> None:
    outs = jsonl(
        "--db",
        str(database_location(tmp_path, "t.db")),
        "--now",
        "2026-11-23T10:00",
        lines=[
            {"user": "ana", "text": "/agent"},  # Monday 10:00: operators are live
            {"user": "ben", "now": "2026-11-23T23:30", "text": "/agent"},  # after hours
            {"user": "ana", "button": "role:applicant"},
            {"user": "ben", "now": "2026-11-23T09:00", "text": "/menu"},  # back in time
        ],
    )
    for out in outs:
        _check_shape(out)
    first = outs[0]["replies"][0]["text"]
    late = outs[1]["replies"][0]["text"]
    assert "passing you to a Tier 1 operator" in first
    assert "Operators have finished for today" in late and "Tuesday, November 24" in late
    # Ana's conversation went on where she was; Ben's was his own.
    assert outs[2]["state"] == "tier1.issue"
    # The clock never goes back: refused, and nothing changed for Ben.
    assert "clock cannot go back" in outs[3]["replies"][0]["text"]
    assert outs[3]["state"] == outs[1]["state"]


def test_a_clock_move_needs_a_fixed_clock_and_a_date(tmp_path: Path) -> None:
    db = str(database_location(tmp_path, "t.db"))
    [not_fixed] = jsonl("--db", db, lines=[{"now": "2026-11-25T10:00", "text": "/menu"}])
    assert "only a console started with --now" in not_fixed["replies"][0]["text"]
    bad = jsonl(
        "--db",
        db,
        "--now",
        "2026-11-23T10:00",
        lines=[
            {"now": "next tuesday", "text": "/menu"},
            {"user": "", "text": "/menu"},
            {"user": "ana", "text": "/menu", "extra": 1},
        ],
    )
    assert "not a date and time" in bad[0]["replies"][0]["text"]
    assert all("neither" in out["replies"][0]["text"] for out in bad[1:])


def test_an_open_line_goes_on_with_another_database_and_a_bad_one_changes_nothing(
    tmp_path: Path,
) -> None:
    first, second = (
        database_location(tmp_path, "first.db"),
        database_location(tmp_path, "second.db"),
    )
    (tmp_path / "a-file").write_text("not a folder")
    outs = jsonl(
        "--db",
        str(first),
        "--now",
        "2026-11-23T10:00",
        lines=[
            {"text": "/agent"},
            {"open": str(second), "now": "2026-11-23T23:30", "lang": "es"},
            {"text": "/agent"},
            {"open": str(tmp_path / "a-file" / "x.db")},
            {"open": str(first), "now": "2026-11-23T10:05", "lang": ""},
            {"text": "/menu"},
        ],
        env={"TIERLINE_LOAD_DEMO_CASES": "false"},
    )
    assert outs[1]["replies"][0]["text"] == f"Now on the database {second}."
    # The new database has its own conversation, its own clock and language.
    assert outs[2]["state"] == "tier1.intake"
    assert "Los operadores" in outs[2]["replies"][0]["text"]
    assert "could not be opened" in outs[3]["replies"][0]["text"]
    assert outs[3]["state"] == "tier1.intake"  # still on the second database
    assert outs[4]["replies"][0]["text"] == f"Now on the database {first}."
    assert outs[4]["state"] == "tier1.intake"  # the first database's conversation, kept
    assert outs[5]["state"] == "automated.menu"
