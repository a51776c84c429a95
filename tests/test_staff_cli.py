"""The real `tierline` CLI in subprocesses: staff commands with --json, and a whole
conversation from /start to an officer-booked appointment with the staff step between."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import jsonl, run_cli
from tests.pg_server import database_location

NOW = "2026-11-23T10:00"


def _book_through_console(db: Path, user: str = "ana") -> list[dict]:
    return jsonl(
        "--db",
        str(db),
        "--now",
        NOW,
        "--user",
        user,
        lines=[
            "/start",
            {"button": "nav:agent"},
            {"button": "role:applicant"},
            {"button": "issue:inperson_need"},
            {"button": "need:immigration_judge_grant"},
            {"button": "evidence:yes"},
            {"button": "day:20261123"},  # urgent: today has room
            {"button": "slot:20261123T1100"},  # the first slot, an hour from now
            "202-555-0143",
            "60605",
            {"button": "confirm:yes"},
        ],
    )


def _staff(db: Path, *args: str, now: str = "2026-11-23T11:05") -> tuple[int, str, str]:
    proc = run_cli("staff", *args, "--db", str(db), "--now", now)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_staff_queue_take_and_complete_with_json(tmp_path: Path) -> None:
    db = database_location(tmp_path, "t.db")
    out = _book_through_console(db)
    assert out[-1]["state"] == "tier2.booked"
    code, stdout, _ = _staff(db, "queue", "--json")
    assert code == 0
    [item] = json.loads(stdout)
    assert item["kind"] == "callback" and item["urgent"] is True
    assert item["category"] == "immigration_judge_grant"
    assert item["due_at"] == "2026-11-23T11:00:00-05:00"
    assert "0143" not in item["summary"]
    code, stdout, _ = _staff(db, "take", item["reference"], "--json", "--staff", "kim")
    assert code == 0 and json.loads(stdout)["status"] == "taken"
    code, _, stderr = _staff(db, "take", item["reference"], "--staff", "lee")
    assert code == 1 and stderr.strip().endswith("already taken by kim.")
    assert len(stderr.strip().splitlines()) == 1
    code, stdout, _ = _staff(
        db,
        "--staff",
        "kim",
        "complete",
        item["reference"],
        "--outcome",
        "resolved",
        "--note",
        "Order received.",
        "--json",
    )
    assert code == 0
    done = json.loads(stdout)
    assert done["outcome"] == "resolved" and item["reference"] in done["summary"]
    code, stdout, _ = _staff(db, "queue", "--json")
    assert code == 0 and json.loads(stdout) == []


def test_staff_errors_are_one_line_and_non_zero(tmp_path: Path) -> None:
    db = database_location(tmp_path, "t.db")
    code, _, stderr = _staff(db, "complete", "CB-NOPE99", "--outcome", "resolved")
    assert code == 1 and stderr.strip() == (
        "tierline staff: error: No open item has the reference CB-NOPE99."
    )
    proc = run_cli("staff", "complete", "CB-NOPE99", "--outcome", "maybe", "--db", str(db))
    assert proc.returncode == 2 and b"invalid choice" in proc.stderr


def test_from_start_to_an_officer_booked_appointment(tmp_path: Path) -> None:
    db = database_location(tmp_path, "journey.db")
    out = _book_through_console(db)
    assert [o["tier"] for o in out[:3]] == ["automated", "tier1", "tier1"]
    assert out[6]["state"] == "tier2.times"
    assert out[7]["state"] == "tier2.phone" and out[9]["state"] == "tier2.confirm"
    booked = out[-1]
    assert booked["state"] == "tier2.booked"
    reference = next(
        w for w in booked["replies"][0]["text"].replace(".", " ").split() if w.startswith("CB-")
    )

    code, stdout, _ = _staff(
        db, "complete", reference, "--outcome", "appointment", "--json", now="2026-11-25T11:05"
    )
    assert code == 0 and json.loads(stdout)["outcome"] == "appointment"

    after = jsonl(
        "--db", str(db), "--now", "2026-11-25T11:30", "--user", "ana", lines=["/menu", "/menu"]
    )
    notice = after[0]["replies"][0]["text"]
    assert f"reference {reference}" in notice
    assert "Chicago Field Office" in notice  # ZIP 60605
    assert "Thursday, December 3, 2026" in notice  # five business days, Thanksgiving skipped
    assert "final order" in notice  # what to bring for an Immigration Judge grant
    assert after[0]["state"] == "automated.menu"
    assert all(reference not in r["text"] for r in after[1]["replies"])  # delivered once


def test_interactive_staff_takes_by_number_and_records_the_outcome(tmp_path: Path) -> None:
    db = database_location(tmp_path, "t.db")
    _book_through_console(db)
    proc = run_cli("staff", "--db", str(db), "--now", "2026-11-23T11:05", input="1\n1\n\n")
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert "1) CB-" in out and "You took CB-" in out
    assert "resolved; the applicant has been told" in out
    assert "The queue is empty." in out
