"""Importing case records from CSV: every row is validated first, and a file with any bad
row changes nothing. Good files are written in one transaction with `executemany`, so
100,000 rows take seconds; re-importing a receipt updates it.

The demo cases (`config/demo_cases.csv`) go through the same validation and are loaded on
first start into an empty database.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path

from bot.config import ConfigError
from bot.storage.cases import CHUNK, Progress, bulk_upsert
from bot.storage.database import Database
from bot.storage.ports import Cases
from flows.case_records import (
    BadRow,
    CaseRecord,
    missing_columns,
    parse_row,
    unknown_columns,
)

log = logging.getLogger(__name__)


class CaseFileError(Exception):
    """The file as a whole cannot be imported (missing, not CSV, required columns absent)."""


@dataclass
class CaseFile:
    """A validated file: the records to write, the bad rows by line, and warnings."""

    records: list[CaseRecord] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_case_file(path: Path, tz: tzinfo, progress: Progress | None = None) -> CaseFile:
    """Read and validate every row of `path` (line numbers count the header as line 1)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            total = sum(1 for _ in fh) - 1
            fh.seek(0)
            return _read(csv.DictReader(fh), path, tz, max(total, 0), progress)
    except FileNotFoundError:
        raise CaseFileError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise CaseFileError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as exc:
        raise CaseFileError(f"{path}: not a valid CSV file: {exc}") from None
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot be read: {exc.strerror}") from None


def _read(
    reader: csv.DictReader[str], path: Path, tz: tzinfo, total: int, progress: Progress | None
) -> CaseFile:
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise CaseFileError(f"{path}: the file is empty (a header line is required)")
    reader.fieldnames = header
    missing = missing_columns(header)
    if missing:
        raise CaseFileError(
            f"{path}: required column(s) missing from the header: " + ", ".join(missing)
        )
    result = CaseFile()
    extra = unknown_columns(header)
    if extra:
        result.warnings.append("ignored unknown column(s): " + ", ".join(extra))
    first_line: dict[str, int] = {}
    for count, row in enumerate(reader, start=1):
        line = reader.line_num
        if None in row:  # more cells than the header has names
            result.errors.append((line, "more values than columns in the header"))
            continue
        try:
            record = parse_row(row, tz)
        except BadRow as exc:
            result.errors.append((line, str(exc)))
            continue
        if record.receipt_number in first_line:
            result.errors.append(
                (line, f"receipt_number repeats line {first_line[record.receipt_number]}")
            )
            continue
        first_line[record.receipt_number] = line
        result.records.append(record)
        if progress is not None and count % CHUNK == 0:
            progress(count, total)
    if not result.records and not result.errors:
        result.warnings.append("the file has no rows")
    return result


def write_cases(
    db_path: Path, records: list[CaseRecord], now: datetime, progress: Progress | None = None
) -> int:
    """Insert or update `records` all or nothing; return the count (see
    `bot.storage.cases.bulk_upsert`)."""
    return bulk_upsert(db_path, records, now, progress)


async def load_demo_cases(cases: Cases, db: Database, path: Path, tz: tzinfo, now: datetime) -> int:
    """Load the demo cases when no case is on file; return how many were loaded."""
    if await cases.any():
        return 0
    # The demo file is configuration: a broken one is reported like any bad config file.
    try:
        case_file = read_case_file(path, tz)
    except CaseFileError as exc:
        raise ConfigError(str(path), "", str(exc).removeprefix(f"{path}: ")) from None
    if not case_file.ok:
        line, reason = case_file.errors[0]
        raise ConfigError(str(path), f"line {line}", reason)
    await db.commit([cases.insert_new(r, now) for r in case_file.records])
    log.info("loaded %d demo cases", len(case_file.records))
    return len(case_file.records)
