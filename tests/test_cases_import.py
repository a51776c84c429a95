"""`tierline cases import` and `cases list`: validation, all or nothing, re-import,
and a large file."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cases.importer import import_case_file
from bot.storage.database import Database
from bot.storage.ports import sqlite_ports
from tests.conftest import run_cli
from tests.pg_server import database_location

HEADER = "status_title,receipt_number,form_type,status_date,biometrics_at,notes\n"
GOOD = (
    "Case Was Received,EAC2112345678,I-485,2026-01-05,,first\n"
    "Case Was Approved,ioe0912345678,I-765,2026-02-01,2026-03-01T09:00,second\n"
)


def _db_args(tmp_path: Path) -> tuple[str, str]:
    return ("--db", str(database_location(tmp_path, "cases.db")))


def _listed(tmp_path: Path) -> list[dict[str, object]]:
    proc = run_cli("cases", "list", "--json", *_db_args(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_good_file_is_imported_and_listed(tmp_path: Path) -> None:
    path = tmp_path / "good.csv"
    path.write_text(HEADER + GOOD)
    proc = run_cli("cases", "import", str(path), *_db_args(tmp_path))
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"imported 2 case(s)" in proc.stdout
    assert b"ignored unknown column(s): notes" in proc.stderr
    listed = {c["receipt_number"]: c for c in _listed(tmp_path)}
    assert set(listed) == {"EAC2112345678", "IOE0912345678"}
    assert listed["IOE0912345678"]["biometrics_at"] == "2026-03-01T09:00:00-05:00"
    table = run_cli("cases", "list", *_db_args(tmp_path))
    assert b"EAC2112345678" in table.stdout and b"2 case(s)" in table.stdout


def test_one_bad_row_is_reported_by_line_and_nothing_changes(tmp_path: Path) -> None:
    path = tmp_path / "good.csv"
    path.write_text(HEADER + GOOD)
    assert run_cli("cases", "import", str(path), *_db_args(tmp_path)).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "Case Was Denied,EAC2112345678,I-485,2026-04-01,,\n"
        "Case Was Received,EAC21123,I-130,2026-04-01,,\n"
        "Case Was Received,WAC2112345678,I-130,04/01/2026,,\n"
    )
    proc = run_cli("cases", "import", str(bad), *_db_args(tmp_path))
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert f"{bad}:3: receipt_number" in err and "receipt.wrong_length" in err
    assert f"{bad}:4: status_date" in err
    assert "nothing was imported" in err
    statuses = {c["receipt_number"]: c["status_title"] for c in _listed(tmp_path)}
    assert statuses["EAC2112345678"] == "Case Was Received"  # the good row was not applied
    assert "WAC2112345678" not in statuses


def test_missing_required_column_is_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "nocol.csv"
    path.write_text("receipt_number,form_type\nEAC2112345678,I-485\n")
    proc = run_cli("cases", "import", str(path), *_db_args(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.decode().strip().endswith("status_title, status_date")
    assert b"Traceback" not in proc.stderr


def test_reimport_updates_the_receipt(tmp_path: Path) -> None:
    path = tmp_path / "good.csv"
    path.write_text(HEADER + GOOD)
    run_cli("cases", "import", str(path), *_db_args(tmp_path))
    path.write_text(HEADER + "Case Was Approved,EAC-21-123-45678,I-485,2026-06-01,,\n")
    assert run_cli("cases", "import", str(path), *_db_args(tmp_path)).returncode == 0
    listed = {c["receipt_number"]: c for c in _listed(tmp_path)}
    assert len(listed) == 2
    assert listed["EAC2112345678"]["status_title"] == "Case Was Approved"
    assert listed["EAC2112345678"]["status_date"] == "2026-06-01"


async def test_a_hundred_thousand_rows_are_imported_whole(tmp_path: Path) -> None:
    """Every row of a large file lands (how fast is bench/import.py's measure, not a test's)."""
    path = tmp_path / "big.csv"
    with path.open("w") as fh:
        fh.write("receipt_number,form_type,status_title,status_date,biometrics_reschedules\n")
        for n in range(100_000):
            fh.write(f"LIN23{n:08d},I-485,Case Remains Pending,2026-05-01,0\n")
    tz = ZoneInfo("America/New_York")
    db = await Database.open(database_location(tmp_path, "big.db"))
    try:
        result = await import_case_file(
            db, sqlite_ports(db, tz).cases, path, tz, datetime(2026, 11, 23, tzinfo=tz)
        )
        row = await db.fetchone("SELECT COUNT(*) AS n FROM cases")
    finally:
        await db.close()
    assert result.scan.ok and result.saved == 100_000
    assert row is not None and row["n"] == 100_000


def test_missing_file_is_one_clear_line(tmp_path: Path) -> None:
    proc = run_cli("cases", "import", str(tmp_path / "nope.csv"), *_db_args(tmp_path))
    assert proc.returncode == 2
    assert (
        proc.stderr.decode().strip() == f"tierline: error: {tmp_path / 'nope.csv'}: file not found"
    )


def test_progress_bar_is_drawn_only_on_a_terminal() -> None:
    import io

    from bot.adapters.cases_cli import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown, hidden = Terminal(), io.StringIO()
    for stream in (shown, hidden):
        bar = ProgressBar(stream)
        bar.update("saving")(50, 100)
        bar.done()
    assert "50/100" in shown.getvalue() and "#" * 15 in shown.getvalue()
    assert hidden.getvalue() == ""


def test_logs_never_show_a_whole_receipt_number(tmp_path: Path) -> None:
    proc = run_cli(
        "console",
        "--jsonl",
        "--db",
        str(tmp_path / "t.db"),
        "--log-level",
        "DEBUG",
        input="/start\nEAC9999999999\n",
    )
    assert proc.returncode == 0
    assert b"EAC********99" in proc.stderr
    assert b"EAC9999999999" not in proc.stderr
