"""Receipt numbers: parsing, normalisation and what the digits say.

A receipt number is three letters (the office that received the case) and ten digits.
People type it with dashes, spaces and in lower case (``eac-21-900-00001``); it is
normalised by dropping those and upper-casing. The digits stay a string: IOE numbers often
start with 0, and an integer would lose it.

For service-center prefixes the digits are: fiscal year (2), working day of that year (3),
sequence (5). Online filings (IOE) follow no such pattern and are never decoded.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

from msgspec import Struct

RECEIPT_LENGTH = 13
PREFIX_LENGTH = 3

# Prefix -> the office it names (the reply shows the office's name from the catalogue).
PREFIXES: dict[str, str] = {
    "EAC": "vermont",
    "WAC": "california",
    "LIN": "nebraska",
    "SRC": "texas",
    "MSC": "national_benefits",
    "NBC": "national_benefits",
    "YSC": "potomac",
    "IOE": "online",
}
UNDECODED_PREFIXES = frozenset({"IOE"})  # online filings: the digits are not a date

# Separators people type inside a receipt number.
_SEPARATORS = re.compile(r"[\s\-_./]+")
# Something that is meant as a receipt: three letters, then mostly digits (O for 0 and the
# like included, so a typo still gets a specific answer instead of "not understood").
_RECEIPT_LIKE = re.compile(r"^[A-Z]{3}[0-9A-Z]{6,14}$")


class ReceiptRule(StrEnum):
    """The rules a receipt number is read by: well formed, or the first thing wrong."""

    OK = "receipt.ok"
    WRONG_LENGTH = "receipt.wrong_length"
    NOT_LETTERS = "receipt.not_letters"
    UNKNOWN_PREFIX = "receipt.unknown_prefix"
    LETTERS_IN_DIGITS = "receipt.letters_in_digits"


class FiscalDecoding(Struct, frozen=True):
    """What a service-center receipt's digits say about when it was received."""

    fiscal_year: int
    working_day: int | None  # None when the three digits are not a day of a year (>366)
    sequence: str


class ReceiptNumber(Struct, frozen=True):
    """A well-formed receipt number, normalised (``EAC2190000001``)."""

    prefix: str
    digits: str

    @property
    def value(self) -> str:
        return self.prefix + self.digits

    @property
    def office(self) -> str:
        return PREFIXES[self.prefix]

    @property
    def is_online_filing(self) -> bool:
        return self.prefix in UNDECODED_PREFIXES

    def decode(self) -> FiscalDecoding | None:
        """Fiscal year, working day and sequence; None for online (IOE) filings."""
        if self.is_online_filing:
            return None
        day = int(self.digits[2:5])
        return FiscalDecoding(
            fiscal_year=2000 + int(self.digits[:2]),
            working_day=day if 1 <= day <= 366 else None,
            sequence=self.digits[5:],
        )

    def __str__(self) -> str:
        return self.value


class ReceiptCheck(Struct, frozen=True):
    """The outcome of reading a receipt number, with the rule that decided it."""

    rule: ReceiptRule
    normalised: str
    receipt: ReceiptNumber | None = None
    bad_characters: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.receipt is not None

    @property
    def length(self) -> int:
        return len(self.normalised)


class InvalidReceipt(ValueError):
    """A receipt number that cannot be read; `check` says which rule it broke."""

    def __init__(self, check: ReceiptCheck) -> None:
        super().__init__(check.rule)
        self.check = check


def normalise(text: str) -> str:
    """`text` without separators, upper-cased."""
    return _SEPARATORS.sub("", text.strip()).upper()


@lru_cache(maxsize=256)  # one turn asks several guards about the same text
def check_receipt(text: str) -> ReceiptCheck:
    """Read `text` as a receipt number and say exactly what is wrong with it, if anything."""
    value = normalise(text)
    if len(value) != RECEIPT_LENGTH:
        return ReceiptCheck(ReceiptRule.WRONG_LENGTH, value)
    prefix, digits = value[:PREFIX_LENGTH], value[PREFIX_LENGTH:]
    if not prefix.isascii() or not prefix.isalpha():
        return ReceiptCheck(ReceiptRule.NOT_LETTERS, value)
    if prefix not in PREFIXES:
        return ReceiptCheck(ReceiptRule.UNKNOWN_PREFIX, value)
    bad = tuple(dict.fromkeys(ch for ch in digits if ch not in "0123456789"))
    if bad:
        return ReceiptCheck(ReceiptRule.LETTERS_IN_DIGITS, value, bad_characters=bad)
    return ReceiptCheck(ReceiptRule.OK, value, ReceiptNumber(prefix, digits))


def parse_receipt(text: str) -> ReceiptNumber:
    """The receipt number in `text`, or `InvalidReceipt`."""
    check = check_receipt(text)
    if check.receipt is None:
        raise InvalidReceipt(check)
    return check.receipt


def looks_like_receipt(text: str) -> bool:
    """Whether `text` is meant as a receipt number (well formed or not): used to answer a
    receipt typed in the middle of something else, without mistaking ordinary words."""
    value = normalise(text)
    return bool(_RECEIPT_LIKE.match(value)) and sum(ch.isdigit() for ch in value) >= 5


def valid_prefixes() -> tuple[str, ...]:
    return tuple(PREFIXES)
