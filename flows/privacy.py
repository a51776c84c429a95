"""Masking of personal identifiers in free text, for logs and the stored transcript.

Receipt numbers (three letters and ten digits, typed with or without dashes and spaces),
A-numbers and US phone numbers are replaced by a masked form that keeps just enough to
tell two log lines apart (the prefix and the last two characters), never the whole value.
"""

from __future__ import annotations

import re

_SEP = r"[\s\-]*"
_RECEIPT = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{3})" + _SEP + r"((?:\d" + _SEP + r"){8})(\d" + _SEP + r"\d)(?!\d)"
)
_A_NUMBER = re.compile(r"(?<![A-Za-z0-9])([Aa])[\s\-#]?(\d[\d\s\-]{5,10}\d)(?!\d)")
_NON_DIGIT = re.compile(r"\D")
# Seven digits anywhere in the text: every identifier has at least that many (an A-number 7
# to 9, a receipt or phone number 10), and most texts have fewer (most have none). Written
# out rather than as `(?:\d\D*){6}\d`: a repeated group costs the regex engine a repeat's
# bookkeeping at every position it tries (four times as much on a line of text).
_SEVEN_DIGITS = re.compile(r"\d\D*" * 6 + r"\d")
_PHONE = re.compile(r"(?<!\d)(?:\+?1[\s.\-]?)?\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]?\d{4}(?!\d)")

# A receipt number typed alone (around it at most spaces): most texts that hold an
# identifier are that. Masked from one match, as the passes below mask it (the receipt
# pass leaves two of its digits, too few for the others), without their three scans.
_RECEIPT_ALONE = re.compile(
    r"(\s*)([A-Za-z]{3})" + _SEP + (r"\d" + _SEP) * 8 + r"(\d)" + _SEP + r"(\d)(\s*)"
)


def _mask_receipt(m: re.Match[str]) -> str:
    tail = _NON_DIGIT.sub("", m.group(3))
    return f"{m.group(1).upper()}********{tail}"


def _mask_a_number(m: re.Match[str]) -> str:
    digits = _NON_DIGIT.sub("", m.group(2))
    if not 7 <= len(digits) <= 9:
        return m.group(0)
    return f"A*******{digits[-2:]}"


def _mask_phone(m: re.Match[str]) -> str:
    digits = _NON_DIGIT.sub("", m.group(0))
    return f"***-***-**{digits[-2:]}"


def mask_personal_data(text: str) -> str:
    """`text` with receipt numbers, A-numbers and phone numbers masked."""
    if len(text) < 7:  # fewer than seven digits: nothing to mask (most commands)
        return text
    alone = _RECEIPT_ALONE.fullmatch(text)
    if alone is not None:
        before, letters, ninth, tenth, after = alone.groups()
        return f"{before}{letters.upper()}********{ninth}{tenth}{after}"
    if _SEVEN_DIGITS.search(text) is None:
        return text
    text = _RECEIPT.sub(_mask_receipt, text)
    if _SEVEN_DIGITS.search(text) is None:  # a masked receipt keeps two: most end here
        return text
    text = _A_NUMBER.sub(_mask_a_number, text)
    return _PHONE.sub(_mask_phone, text)


def transcript_text(text: str, *, free_text: bool = False) -> str:
    """What the stored transcript keeps of a typed input: the text with receipt numbers,
    A-numbers and phone numbers masked; for an answer in the applicant's own words (which
    may name people), only its length, in a form that is still a valid answer when a
    recorded scenario replays it."""
    if free_text:
        return f"(own words withheld: {len(text)} characters)"
    return mask_personal_data(text)
