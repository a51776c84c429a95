"""Importing case records from CSV, in two passes that keep memory flat and never hold the
database's write lock for long.

1. **Check.** The file is streamed row by row; each row is validated and staged on disk
   (`bot.storage.case_staging`: a private temporary database), so a receipt number repeated
   anywhere in the file is found, and memory does not grow with the number of rows. A file
   with any bad row changes nothing: the bad rows are reported by line (the first
   `MAX_KEPT_ERRORS`; the rest are counted) and the live database is never touched.
2. **Save.** The staged rows are written to the live database in chunks of `chunk_rows`
   (default 2,000), each chunk one commit through the shared writer (`Database.commit`),
   with a pause after each so that the Telegram bot's turns, in this process or another,
   get the write lock between chunks. No chunk holds the lock for more than tens of
   milliseconds, so no turn waits anywhere near SQLite's 5-second busy timeout.

Every chunk is an upsert (re-importing a receipt updates it), so an import stopped in the
save pass (a killed process, a full disk) leaves the chunks before it saved and the rest
not: `ImportStopped` says how far it got, and running the same import again finishes it
with the same result as an uninterrupted run.

The demo cases (`config/demo_cases.csv`) go through the same row validation and are loaded
on first start into an empty database.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import random
import time
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TextIO

from msgspec import Struct, field

from bot.config import ConfigError
from bot.storage.case_staging import CaseStaging
from bot.storage.cases import Progress
from bot.storage.database import Database, StorageError
from bot.storage.ports import Cases
from flows.case_records import (
    BadRow,
    CaseRecord,
    missing_columns,
    parse_row,
    unknown_columns,
)

log = logging.getLogger(__name__)

MAX_KEPT_ERRORS = 50  # bad rows kept for the report; more are counted, not kept
CHUNK_ROWS = 2000  # rows per commit in the save pass
PROGRESS_EVERY = 5000  # rows between progress updates in the check pass
# The pause after each chunk: as long as the chunk took (so the import takes at most about
# half of the writer's time), within these bounds, with jitter so a waiting writer's
# polling cannot stay in step with the chunks.
MIN_PAUSE, MAX_PAUSE = 0.005, 0.1
LOCKED_RETRIES = 10  # a chunk that found the database locked is tried again this often


class CaseFileError(Exception):
    """The file as a whole cannot be imported (missing, not CSV, required columns absent)."""


class ImportStopped(Exception):
    """The save pass stopped part-way: `saved` of `total` rows are in the database."""

    def __init__(self, saved: int, total: int, reason: str) -> None:
        self.saved, self.total, self.reason = saved, total, reason
        super().__init__(f"{reason} (saved {saved} of {total} rows)")


class CaseScan(Struct):
    """The result of the check pass: how many rows are staged, the bad rows (the first
    `MAX_KEPT_ERRORS` by line, and how many in all) and warnings."""

    staged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_count: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def bad(self, line: int, reason: str) -> None:
        self.error_count += 1
        self.errors.append((line, reason))
        if len(self.errors) > 4 * MAX_KEPT_ERRORS:  # keep memory flat with many bad rows
            self.errors = sorted(self.errors)[:MAX_KEPT_ERRORS]

    def finish(self) -> None:
        self.errors = sorted(self.errors)[:MAX_KEPT_ERRORS]


class CaseFile(Struct):
    """A small validated file held in memory (the demo cases): records and bad rows."""

    records: list[CaseRecord] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# ---- reading rows ----------------------------------------------------------------------------


class _Rows:
    """The rows of an open CSV file: (line, record or the reason it is bad)."""

    def __init__(self, reader: csv.DictReader[str], warnings: list[str], tz: tzinfo) -> None:
        self.reader, self.warnings, self.tz = reader, warnings, tz

    def __iter__(self) -> Iterator[tuple[int, CaseRecord | str]]:
        for row in self.reader:
            line = self.reader.line_num
            if None in row:  # more cells than the header has names
                yield line, "more values than columns in the header"
                continue
            try:
                yield line, parse_row(row, self.tz)
            except BadRow as exc:
                yield line, str(exc)


def _open_rows(fh: TextIO, path: Path, tz: tzinfo) -> _Rows:
    reader = csv.DictReader(fh)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise CaseFileError(f"{path}: the file is empty (a header line is required)")
    reader.fieldnames = header
    missing = missing_columns(header)
    if missing:
        raise CaseFileError(
            f"{path}: required column(s) missing from the header: " + ", ".join(missing)
        )
    extra = unknown_columns(header)
    warnings = ["ignored unknown column(s): " + ", ".join(extra)] if extra else []
    return _Rows(reader, warnings, tz)


class _Reading:
    """Opens `path` for reading rows and turns every way a file can be unreadable into one
    `CaseFileError` (with the line where it went wrong, when there is one)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.line = 0

    def __enter__(self) -> TextIO:
        try:
            self._fh = self.path.open(newline="", encoding="utf-8-sig")
        except FileNotFoundError:
            raise CaseFileError(f"{self.path}: file not found") from None
        except OSError as exc:
            raise CaseFileError(f"{self.path}: cannot be read: {exc.strerror}") from None
        return self._fh

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        self._fh.close()
        where = f" (near line {self.line + 1})" if self.line else ""
        if isinstance(exc, UnicodeDecodeError):
            raise CaseFileError(f"{self.path}: not a UTF-8 text file{where}") from None
        if isinstance(exc, csv.Error):
            raise CaseFileError(f"{self.path}: not a valid CSV file{where}: {exc}") from None
        if isinstance(exc, OSError):
            raise CaseFileError(f"{self.path}: cannot be read: {exc.strerror}") from None


def _count_lines(path: Path) -> int:
    """Data lines in the file, for the progress bar (a streaming pass, no rows kept)."""
    with path.open("rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


# ---- the check pass ------------------------------------------------------------------------


def scan_case_file(
    path: Path, tz: tzinfo, staging: CaseStaging, progress: Progress | None = None
) -> CaseScan:
    """Validate every row of `path` and stage the good ones (line numbers count the header
    as line 1). Memory stays flat: rows are staged on disk as they are read."""
    scan = CaseScan()
    reading = _Reading(path)
    with reading as fh:
        total = _count_lines(path) if progress is not None else 0
        rows = _open_rows(fh, path, tz)
        scan.warnings.extend(rows.warnings)
        count = 0
        for count, (line, outcome) in enumerate(rows, start=1):
            reading.line = line
            if isinstance(outcome, str):
                scan.bad(line, outcome)
            else:
                for repeat, first in staging.add(line, outcome):
                    scan.bad(repeat, f"receipt_number repeats line {first}")
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count, total)
        for repeat, first in staging.flush():
            scan.bad(repeat, f"receipt_number repeats line {first}")
        if progress is not None and count:
            progress(count, max(total, count))
    scan.staged = staging.count
    scan.finish()
    if not scan.staged and not scan.error_count:
        scan.warnings.append("the file has no rows")
    return scan


def read_case_file(path: Path, tz: tzinfo) -> CaseFile:
    """Read and validate a small file in memory (the demo cases); an import of any size
    goes through `import_case_file` instead."""
    result = CaseFile()
    first_line: dict[str, int] = {}
    with _Reading(path) as fh:
        rows = _open_rows(fh, path, tz)
        result.warnings.extend(rows.warnings)
        for line, outcome in rows:
            if isinstance(outcome, str):
                result.errors.append((line, outcome))
            elif outcome.receipt_number in first_line:
                first = first_line[outcome.receipt_number]
                result.errors.append((line, f"receipt_number repeats line {first}"))
            else:
                first_line[outcome.receipt_number] = line
                result.records.append(outcome)
    if not result.records and not result.errors:
        result.warnings.append("the file has no rows")
    return result


# ---- the save pass -------------------------------------------------------------------------


async def save_staged(
    db: Database,
    cases: Cases,
    staging: CaseStaging,
    now: datetime,
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> int:
    """Write the staged rows to the live database, a chunk per commit with a pause after
    each; return how many were saved. Raises `ImportStopped` when a chunk cannot be saved
    (the chunks before it stay saved; see the module docstring)."""
    total, saved = staging.count, 0
    for chunk in staging.chunks(chunk_rows):
        writes = cases.upsert_rows(chunk, now)
        for attempt in range(LOCKED_RETRIES + 1):
            started = time.perf_counter()
            try:
                await db.commit(writes)
                break
            except StorageError as exc:
                locked = "locked" in str(exc) or "busy" in str(exc)
                if not locked or attempt == LOCKED_RETRIES:
                    raise ImportStopped(saved, total, str(exc)) from None
                log.info("the database was busy; trying the chunk again")
        held = time.perf_counter() - started
        saved += len(chunk)
        if progress is not None:
            progress(saved, total)
        if saved < total:
            pause = min(max(held, MIN_PAUSE), MAX_PAUSE)
            await asyncio.sleep(pause * random.uniform(0.8, 1.4))
    return saved


class ImportResult(Struct):
    scan: CaseScan
    saved: int = 0


async def import_case_file(
    db: Database,
    cases: Cases,
    path: Path,
    tz: tzinfo,
    now: datetime,
    *,
    chunk_rows: int = CHUNK_ROWS,
    checking: Progress | None = None,
    saving: Progress | None = None,
) -> ImportResult:
    """Check the whole of `path`, then, when every row is good, save it in chunks.

    A file with any bad row saves nothing (`result.scan.ok` is False). Raises
    `CaseFileError` when the file as a whole cannot be read, and `ImportStopped` when the
    save pass stopped part-way."""
    with CaseStaging() as staging:
        scan = await asyncio.to_thread(scan_case_file, path, tz, staging, checking)
        result = ImportResult(scan)
        if scan.ok and scan.staged:
            result.saved = await save_staged(
                db, cases, staging, now, chunk_rows=chunk_rows, progress=saving
            )
    return result


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
