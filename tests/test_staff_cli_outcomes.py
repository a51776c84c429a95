"""Each officer's outcome end to end with the real processes: the applicant in `tierline
console --jsonl`, the officer in `tierline staff ...`, the same database file, and what
the applicant reads afterwards."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.conftest import jsonl, run_cli

NOW = "2026-11-23T10:00"  # Monday, live hours
CALL = "2026-11-23T11:05"  # the officer's call, just after the 11:00 slot


def _console(db: Path, user: str, lines: list[Any], now: str = NOW) -> list[dict[str, Any]]:
    return jsonl("--db", str(db), "--now", now, "--user", user, lines=lines)


def _staff(db: Path, *args: str, staff: str = "kim", now: str = CALL) -> tuple[int, str, str]:
    proc = run_cli("staff", *args, "--db", str(db), "--now", now, "--staff", staff)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def _texts(out: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for o in out for r in o["replies"])


def _reference(out: list[dict[str, Any]], prefix: str) -> str:
    words = _texts(out).replace(".", " ").replace(",", " ").split()
    return next(w for w in words if w.startswith(prefix))


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def _one_line_refusal(db: Path, *args: str, staff: str = "kim", expect: str) -> None:
    before = _dump(db)
    code, stdout, stderr = _staff(db, *args, staff=staff)
    assert code == 1 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and expect in stderr, stderr
    assert _dump(db) == before  # nothing changed


def test_full_record_hand_over_release_and_a_resolution_with_a_note(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    booked = _console(
        db,
        "ana",
        [
            "/start",
            {"button": "nav:agent"},
            {"button": "role:representative_g28"},
            {"button": "issue:something_else"},
            {"button": "day:20261123"},
            {"button": "slot:20261123T1100"},
            "202-555-0143",
            "eac-21-900-00001",  # no case known yet: given where the ZIP code is asked
            "10278",
            {"button": "confirm:yes"},
        ],
    )
    reference = _reference(booked, "CB-")

    code, stdout, _ = _staff(db, "queue", "--json")
    [item] = json.loads(stdout)
    assert code == 0 and "0143" not in stdout  # the list stays masked
    assert {k: item[k] for k in ("reference", "kind", "status", "urgent")} == {
        "reference": reference,
        "kind": "callback",
        "status": "booked",
        "urgent": False,
    }
    assert item["due_at"] == "2026-11-23T11:00:00-05:00" and item["overdue"] is True

    code, stdout, _ = _staff(db, "take", reference.lower(), "--json")
    view = json.loads(stdout)
    assert code == 0 and view["status"] == "taken" and view["taken_by"] == "kim"
    assert view["phone"] == "(202) 555-0143"
    assert view["receipt"] == "EAC2190000001"
    assert "Case Was Received" in view["case"]
    assert (view["role"], view["g28_on_file"]) == ("representative_g28", True)
    assert view["category_rule"] == "triage.officer.something_else"
    assert view["urgency_rule"] == "urgency.regular"
    assert view["answers"] == {"issue": "Something else"}
    assert "biometrics" not in view["outcomes"] and "refused" in view["outcomes"]
    assert _rows(db, "SELECT staff_id, reference FROM staff_views") == [("kim", reference)]

    _one_line_refusal(db, "show", reference, staff="lee", expect="already taken by kim")
    code, stdout, _ = _staff(db, "handover", reference, "--to", "lee")
    assert code == 0 and stdout.strip() == f"{reference} is now with lee."
    _one_line_refusal(db, "release", reference, expect="already taken by lee")
    code, stdout, _ = _staff(db, "release", reference, staff="lee")
    assert code == 0 and "back in the queue" in stdout
    code, stdout, _ = _staff(
        db, "complete", reference, "--outcome", "resolved", "--note", "Your file was updated."
    )
    assert code == 0 and "resolved" in stdout

    after = _console(db, "ana", ["/menu"], now="2026-11-23T11:30")
    assert f"handled your inquiry {reference} by phone" in _texts(after)
    assert "The officer's note: Your file was updated." in _texts(after)
    history = _rows(
        db, f"SELECT outcome, staff_id FROM inquiry_attempts WHERE reference = '{reference}'"
    )
    assert history == [
        ("taken", "kim"),
        ("handed-over", "kim"),
        ("released", "lee"),
        ("resolved", "kim"),
    ]


def test_an_emergency_visit_on_an_earlier_day_with_what_the_officer_adds(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    booked = _console(
        db,
        "eve",
        [
            "/start",
            {"button": "nav:agent"},
            {"button": "role:applicant"},
            {"button": "issue:emergency"},
            {"button": "need:emergency_advance_parole"},
            {"button": "evidence:yes"},
            {"button": "day:20261123"},
            {"button": "slot:20261123T1100"},
            "202-555-0143",
            "60605",
            {"button": "confirm:yes"},
        ],
    )
    reference = _reference(booked, "CB-")
    _one_line_refusal(
        db,
        "complete",
        reference,
        "--outcome",
        "appointment",
        "--at",
        "2026-11-24T16:00",
        expect="outside the appointment times of the Chicago Field Office",
    )
    code, stdout, _ = _staff(
        db,
        "complete",
        reference,
        "--outcome",
        "appointment",
        "--at",
        "2026-11-24T09:00",  # the next day, not five business days out: an emergency
        "--bring",
        "the hospital's letter",
        "--note",
        "Please come 15 minutes early.",
    )
    assert code == 0 and "Tuesday, November 24, 2026, 9:00 a.m." in stdout
    notice = _texts(_console(db, "eve", ["/menu"], now="2026-11-23T11:30"))
    assert "Chicago Field Office, 101 West Congress Parkway" in notice
    assert "on Tuesday, November 24, 2026, 9:00 a.m." in notice
    assert "signed Form I-131" in notice and "proof of the emergency" in notice
    assert notice.count("proof of the emergency") == 1  # not asked twice
    assert "The officer also asks you to bring: the hospital's letter." in notice
    assert "The officer's note: Please come 15 minutes early." in notice


def test_biometrics_moved_by_the_contact_center_counts_and_sends_the_notice(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    booked = _console(
        db,
        "bo",
        [
            "/start",
            {"button": "go:biometrics"},
            "WAC2312012002",  # rescheduled twice already: not online any more
            {"button": "role:applicant"},
            {"button": "issue:biometrics_not_online"},
            {"button": "day:20261123"},
            {"button": "slot:20261123T1100"},
            "(213) 555-0199",
            {"button": "confirm:yes"},
        ],
    )
    assert booked[2]["state"] == "tier1.intake" and "rescheduled 2 times" in _texts(booked[2:3])
    assert "marked your inquiry as urgent" in _texts(booked[4:5])  # not a regular one
    reference = _reference(booked, "CB-")
    code, stdout, _ = _staff(db, "take", reference, "--json")
    view = json.loads(stdout)
    assert view["category"] == "biometrics_not_online" and "biometrics" in view["outcomes"]
    assert view["escalation_reason"] == "biometrics.rescheduled_twice"
    code, stdout, _ = _staff(
        db, "complete", reference, "--outcome", "biometrics", "--at", "2026-11-30T09:00"
    )
    assert code == 0 and "reschedule number 3" in stdout
    assert _rows(db, "SELECT site_id, slot_at, good_cause FROM biometrics_bookings") == [
        ("nyc", "2026-11-30T14:00:00+00:00", "contact_center")
    ]

    after = _console(
        db,
        "bo",
        ["/menu", {"button": "go:biometrics"}, "WAC2312012002"],
        now="2026-11-23T11:30",
    )
    notice = _texts(after[:1])
    assert f"moved your biometrics appointment for case WAC2312012002 (reference {reference})" in (
        notice
    )
    assert "on Monday, November 30, 2026, 9:00 a.m." in notice
    assert "Form I-797C" in notice and "reschedule number 3" in notice
    # The case itself moved and counted: the automated tier now says three.
    assert "rescheduled 3 times" in _texts(after[2:])


def test_service_requests_and_appointment_requests_in_the_queue_with_their_sla(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    opened = _console(
        db,
        "sam",
        [
            "/start",
            {"button": "nav:agent"},
            {"button": "role:applicant"},
            {"button": "issue:notice_not_received"},
        ],
    )
    said = _texts(opened[-1:])
    assert "office handling your case" not in said
    assert "by January 7, 2027 at the latest" in said and "come to you here" in said
    service = _reference(opened, "SR")
    submitted = _console(
        db,
        "rita",
        [
            "/start",
            {"button": "go:appointment"},
            {"button": "apr:type:advance_parole"},
            "A12345678",
            "My mother is in hospital abroad and I must travel this week",
            {"button": "apr:docs:yes"},
            "(315) 555-0143",
            "13202",
            {"button": "apr:date:skip"},
        ],
    )
    request = _reference(submitted, "APR-")

    code, stdout, _ = _staff(db, "queue", "--json", now="2026-11-26T12:00")
    queue = json.loads(stdout)
    assert [(i["reference"], i["kind"], i["urgent"]) for i in queue] == [
        (request, "appointment_request", True),  # emergency advance parole: 72 hours
        (service, "service_request", False),  # 30 business days
    ]
    assert queue[0]["due_at"] == "2026-11-26T10:00:00-05:00" and queue[0]["overdue"] is True
    assert queue[1]["due_at"] == "2027-01-07T18:30:00-05:00" and queue[1]["overdue"] is False
    assert all(i["status"] in ("pending_review", "open") for i in queue)

    _one_line_refusal(
        db, "complete", service.lower(), "--outcome", "appointment", expect="does not fit"
    )
    code, stdout, _ = _staff(
        db,
        "complete",
        request.lower(),
        "--outcome",
        "refused",
        "--note",
        "A doctor's letter is needed before an emergency visit can be offered.",
    )
    assert code == 0 and "refused" in stdout
    code, _, _ = _staff(
        db, "complete", service, "--outcome", "resolved", "--note", "Your card was mailed again."
    )
    assert code == 0
    code, stdout, _ = _staff(db, "queue", "--json")
    assert json.loads(stdout) == []

    told_rita = _texts(_console(db, "rita", ["/menu"], now="2026-11-26T12:30"))
    assert f"reviewed your in-person appointment request {request} and cannot grant it" in (
        told_rita
    )
    assert "A doctor's letter is needed" in told_rita
    told_sam = _texts(_console(db, "sam", ["/menu"], now="2026-11-26T12:30"))
    assert f"answered your service request {service}: Your card was mailed again." in told_sam
