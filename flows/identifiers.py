"""Identifiers an applicant gives for a request: a receipt number or an A-number.

An A-number (alien registration number) has 7 to 9 digits and is usually written with an
``A`` in front; it is normalised to ``A`` and nine digits (zeros added in front).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from msgspec import Struct

from flows.receipts import ReceiptRule, check_receipt, looks_like_receipt

A_NUMBER_DIGITS = 9
_A_NUMBER = re.compile(r"^A?(\d{7,9})$")
_SEPARATORS = re.compile(r"[\s\-#.]+")


class IdentifierRule(StrEnum):
    RECEIPT = "identifier.receipt"
    A_NUMBER = "identifier.a_number"
    UNREADABLE = "identifier.unreadable"


class IdentifierCheck(Struct, frozen=True):
    """What the applicant gave, normalised, with the rule that decided.

    ``rule``: a receipt or an A-number read, or the receipt rule that a malformed receipt
    broke, or nothing readable.
    """

    rule: IdentifierRule | ReceiptRule
    kind: Literal["receipt", "a_number"] | None = None
    value: str = ""

    @property
    def ok(self) -> bool:
        return self.kind is not None


def normalise_a_number(text: str) -> str | None:
    """``A`` plus nine digits, or None when `text` is not an A-number."""
    m = _A_NUMBER.match(_SEPARATORS.sub("", text.strip()).upper())
    if m is None:
        return None
    return "A" + m.group(1).zfill(A_NUMBER_DIGITS)


def check_identifier(text: str) -> IdentifierCheck:
    """Read a receipt number or an A-number."""
    a_number = normalise_a_number(text)
    if a_number is not None:
        return IdentifierCheck(IdentifierRule.A_NUMBER, "a_number", a_number)
    receipt = check_receipt(text)
    if receipt.receipt is not None:
        return IdentifierCheck(IdentifierRule.RECEIPT, "receipt", receipt.receipt.value)
    if looks_like_receipt(text):
        return IdentifierCheck(receipt.rule)
    return IdentifierCheck(IdentifierRule.UNREADABLE)
