"""References applicants and staff read out on the phone: `CB-7K2M9Q`, `APR-261123-K7QX2M`,
and service item numbers `SR0123456789`. Random, so they cannot be guessed; a clash with a
stored one makes the commit conflict and the caller draws again."""

from __future__ import annotations

import secrets
from datetime import date

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on the phone


def new_reference(prefix: str, day: date | None = None) -> str:
    """`PREFIX-XXXXXX`, or `PREFIX-YYMMDD-XXXXXX` when the day it was made is part of it."""
    code = "".join(secrets.choice(_ALPHABET) for _ in range(6))
    return f"{prefix}-{day:%y%m%d}-{code}" if day is not None else f"{prefix}-{code}"


def new_service_item() -> str:
    return "SR" + "".join(secrets.choice("0123456789") for _ in range(10))
