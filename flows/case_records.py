"""A case record as it is imported: one CSV row, validated and normalised.

Columns: receipt_number, form_type, status_title, status_date (YYYY-MM-DD) are required;
zip_code, biometrics_at (ISO date-time, in the service's time zone unless it carries an
offset), biometrics_site and biometrics_reschedules (integer, default 0) are optional.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo

from msgspec import Struct

from flows.receipts import check_receipt

REQUIRED_COLUMNS = ("receipt_number", "form_type", "status_title", "status_date")
OPTIONAL_COLUMNS = ("zip_code", "biometrics_at", "biometrics_site", "biometrics_reschedules")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

_FORM = re.compile(r"^[A-Z]{1,3}-?\d{1,4}[A-Z]{0,3}$")
_ZIP = re.compile(r"^\d{5}(-\d{4})?$")


class BadRow(ValueError):
    """A row that cannot be imported; the message says which column and why."""


class CaseRecord(Struct, frozen=True):
    receipt_number: str
    form_type: str
    status_title: str
    status_date: date
    zip_code: str | None = None
    biometrics_at: datetime | None = None  # aware
    biometrics_site: str | None = None
    biometrics_reschedules: int = 0

    def db_params(self) -> tuple[object, ...]:
        """Values in `COLUMNS` order, as stored (date-times in UTC ISO form)."""
        at = (
            self.biometrics_at.astimezone(UTC).isoformat(timespec="seconds")
            if self.biometrics_at
            else None
        )
        return (
            self.receipt_number,
            self.form_type,
            self.status_title,
            self.status_date.isoformat(),
            self.zip_code,
            at,
            self.biometrics_site,
            self.biometrics_reschedules,
        )


def missing_columns(header: list[str]) -> list[str]:
    return [c for c in REQUIRED_COLUMNS if c not in header]


def unknown_columns(header: list[str]) -> list[str]:
    return [c for c in header if c not in COLUMNS]


def parse_row(row: dict[str, str | None], tz: tzinfo) -> CaseRecord:
    """A `CaseRecord` from one CSV row (column -> text), or `BadRow`."""

    values = {column: (row.get(column) or "").strip() for column in COLUMNS}  # stripped once
    for column in REQUIRED_COLUMNS:
        if not values[column]:
            raise BadRow(f"{column} is empty")
    receipt = check_receipt(values["receipt_number"])
    if receipt.receipt is None:
        raise BadRow(f"receipt_number {values['receipt_number']!r} is not valid ({receipt.rule})")
    form = values["form_type"].upper()
    if not _FORM.match(form):
        raise BadRow(f"form_type {values['form_type']!r} is not a form number like I-485")
    try:
        status_date = date.fromisoformat(values["status_date"])
    except ValueError:
        raise BadRow(f"status_date {values['status_date']!r} is not a date YYYY-MM-DD") from None
    zip_code = values["zip_code"] or None
    if zip_code and not _ZIP.match(zip_code):
        raise BadRow(f"zip_code {zip_code!r} is not a US ZIP code")
    at = None
    if values["biometrics_at"]:
        try:
            at = datetime.fromisoformat(values["biometrics_at"])
        except ValueError:
            raise BadRow(
                f"biometrics_at {values['biometrics_at']!r} is not an ISO date-time"
            ) from None
        at = at.replace(tzinfo=tz) if at.tzinfo is None else at
    count_text = values["biometrics_reschedules"] or "0"
    if not count_text.isdigit():
        raise BadRow(f"biometrics_reschedules {count_text!r} is not a whole number")
    return CaseRecord(
        receipt_number=receipt.receipt.value,
        form_type=form,
        status_title=" ".join(values["status_title"].split()),
        status_date=status_date,
        zip_code=zip_code,
        biometrics_at=at,
        biometrics_site=values["biometrics_site"] or None,
        biometrics_reschedules=int(count_text),
    )
