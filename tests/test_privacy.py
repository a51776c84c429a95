"""No receipt number, A-number or phone number reaches a log line unmasked."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.logs import MaskingFormatter
from flows.privacy import mask_personal_data


@pytest.mark.parametrize(
    "text",
    [
        "EAC2190000001",
        "eac-21-900-00001",
        "IOE 0123456789",
        "WAC 19 123 45678",
        "A123456789",
        "A-12345678",
        "a 1234567",
        "(202) 555-0143",
        "202-555-0143",
        "+1 202 555 0143",
        "2025550143",
        "202.555.0143",
    ],
)
def test_identifiers_are_masked(text: str) -> None:
    masked = mask_personal_data(f"user typed {text} just now")
    digits = "".join(ch for ch in text if ch.isdigit())
    assert digits not in "".join(ch for ch in masked if ch.isdigit())
    assert "just now" in masked


@given(st.from_regex(r"[A-Z]{3}[0-9]{10}", fullmatch=True))
def test_any_receipt_is_masked(receipt: str) -> None:
    assert receipt[3:11] not in mask_personal_data(f"lookup {receipt} failed")


def test_ordinary_text_is_left_alone() -> None:
    text = "Biometrics on 2026-11-23 at 10:00, 3 slots left, I-485 form"
    assert mask_personal_data(text) == text


def test_the_log_formatter_masks_messages_and_tracebacks() -> None:
    formatter = MaskingFormatter("%(message)s")
    try:
        raise ValueError("lookup of LIN2190000123 failed")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "t",
            logging.ERROR,
            __file__,
            1,
            "case %s phone %s",
            ("EAC2190000001", "202-555-0143"),
            sys.exc_info(),
        )
    out = formatter.format(record)
    assert "2190000001" not in out and "555-0143" not in out and "2190000123" not in out


def _three_passes(text: str) -> str:
    """The masking as it was first written: the three passes over every text with a digit
    (mask_personal_data skips the passes that cannot find anything)."""
    from flows import privacy

    text = privacy._RECEIPT.sub(privacy._mask_receipt, text)
    text = privacy._A_NUMBER.sub(privacy._mask_a_number, text)
    return privacy._PHONE.sub(privacy._mask_phone, text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no digits at all",
        "EAC219000000",  # a digit short of a receipt
        "A123456",
        "a 12-34-56",
        "EAC2190000001 and A123456789 and 202-555-0143",
        "EAC2190000001 202 555 0143",
        "1 202 555 0143 EAC2190000001",
        "٣٣٣٣٣٣٣٣٣٣",  # other scripts' digits are digits too
    ],
)
def test_skipping_passes_masks_exactly_as_the_three_passes(text: str) -> None:
    assert mask_personal_data(text) == _three_passes(text)


@given(st.text(alphabet="AEaCI 0123456789-#.()+\n", max_size=40))
def test_any_text_is_masked_exactly_as_by_the_three_passes(text: str) -> None:
    assert mask_personal_data(text) == _three_passes(text)


# Texts near the shape of a receipt typed alone (`mask_personal_data`'s one-match path):
# spaces around it, separators inside, a digit too many or too few, other scripts' digits.
_NEAR_A_RECEIPT = r"[ \t\n]{0,2}[A-Za-z]{2,4}[ \-]{0,2}([0-9٣][ \-]?){8,11}[ \t\n.]{0,2}"


@given(st.from_regex(_NEAR_A_RECEIPT, fullmatch=True))
def test_a_receipt_typed_alone_is_masked_exactly_as_by_the_three_passes(text: str) -> None:
    assert mask_personal_data(text) == _three_passes(text)


@pytest.mark.parametrize(
    "text",
    [
        " EAC2190000001\n",
        "eac-21-900-00001",
        "EAC 219 000 0001 ",
        "EAC21900000012",
        "aEAC2190000001",
    ],
)
def test_a_receipt_alone_or_nearly_is_masked_exactly_as_by_the_three_passes(text: str) -> None:
    assert mask_personal_data(text) == _three_passes(text)
