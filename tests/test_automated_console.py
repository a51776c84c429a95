"""Whole conversations through the real `tierline console --jsonl`, on a fresh database
where the demo cases load on first start."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import jsonl
from tests.pg_server import database_location

NOW = "2026-11-23T10:00"


def test_case_status_conversation_in_machine_mode(tmp_path: Path) -> None:
    out = jsonl(
        "--db",
        str(database_location(tmp_path, "t.db")),
        "--now",
        NOW,
        lines=[
            "/start",
            {"button": "go:status"},
            "EAC 21-900-00001x",
            "EAC-21-900-00001",
            {"button": "auto:didnt_help"},
        ],
    )
    assert [o["state"] for o in out] == [
        "automated.menu",
        "automated.status.ask_receipt",
        "automated.status.ask_receipt",
        "automated.status.answered",
        "tier1.intake",
    ]
    assert "13 characters" in out[2]["replies"][0]["text"]
    answer = out[3]["replies"][0]
    assert "Case Was Received And A Receipt Notice Was Sent" in answer["text"]
    assert "Next step:" in answer["text"]
    assert {"status:again", "auto:didnt_help", "nav:menu"} <= {b["data"] for b in answer["buttons"]}
    assert out[4]["tier"] == "tier1"


def test_rescheduling_conversation_in_machine_mode(tmp_path: Path) -> None:
    db = str(database_location(tmp_path, "t.db"))
    out = jsonl(
        "--db",
        db,
        "--now",
        NOW,
        lines=[
            "/start",
            {"button": "go:biometrics"},
            "lin 2210054321",
            {"button": "bio:cause:late_notice"},
            {"button": "bio:day:20261124"},
            {"button": "bio:slot:nyc:202611241000"},
        ],
    )
    assert [o["state"] for o in out][1:] == [
        "automated.biometrics.ask_receipt",
        "automated.biometrics.ask_reason",
        "automated.biometrics.choose_slot",
        "automated.biometrics.choose_time",
        "automated.biometrics.booked",
    ]
    days = [b["data"] for b in out[3]["replies"][0]["buttons"]]
    assert days[0] == "bio:day:20261124"
    times = [b["data"] for b in out[4]["replies"][0]["buttons"]]
    assert times[0] == "bio:slot:nyc:202611241000" and times[-2:] == ["bio:days", "nav:menu"]
    assert "November 24, 2026, 10:00 a.m." in out[5]["replies"][0]["text"]
    # A case already rescheduled twice is sent to a person, with the reason said.
    again = jsonl(
        "--db",
        db,
        "--now",
        NOW,
        "--user",
        "second",
        lines=["/start", {"button": "go:biometrics"}, "WAC2312012002"],
    )
    assert again[2]["state"] == "tier1.intake"
    assert "rescheduled 2 times" in again[2]["replies"][0]["text"]
