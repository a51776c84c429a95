"""Fictional stand-ins for the personal identifiers of a recorded session.

The same value always gets the same stand-in, so a receipt typed twice is still one case
and the replay reads it the same way: a receipt number keeps its three letters and the
five digits that say when it was received, with a made-up sequence; a phone number becomes
one of the numbers reserved for fiction (555-01xx); an A-number becomes A0000000xx.
"""

from __future__ import annotations

import re

from flows.privacy import _A_NUMBER, _PHONE, _RECEIPT

_SEPARATORS = re.compile(r"[\s\-]")


class Placeholders:
    def __init__(self, *, keep: bool = False) -> None:
        self.keep = keep
        self._receipts: dict[str, str] = {}
        self._phones: dict[str, str] = {}
        self._a_numbers: dict[str, str] = {}

    def receipt(self, receipt: str) -> str:
        """The stand-in for a normalised receipt number."""
        if self.keep:
            return receipt
        if receipt not in self._receipts:
            n = len(self._receipts) + 1
            self._receipts[receipt] = f"{receipt[:8]}{99999 - n:05d}"
        return self._receipts[receipt]

    def receipts_in(self, texts: list[str]) -> list[str]:
        """The receipt numbers typed in `texts`, normalised, in order of first mention."""
        found: list[str] = []
        for text in texts:
            for m in _RECEIPT.finditer(text):
                normal = _SEPARATORS.sub("", m.group(0)).upper()
                if normal not in found:
                    found.append(normal)
        return found

    def text(self, text: str) -> str:
        """`text` with every identifier replaced by its stand-in."""
        if self.keep or not any(ch.isdigit() for ch in text):
            return text
        # Receipt numbers first, kept out of the way of the phone pattern (ten digits).
        held: list[str] = []

        def hold(m: re.Match[str]) -> str:
            held.append(self.receipt(_SEPARATORS.sub("", m.group(0)).upper()))
            return f"\x00{len(held) - 1}\x00"

        text = _RECEIPT.sub(hold, text)
        text = _A_NUMBER.sub(self._a_number, text)
        text = _PHONE.sub(self._phone, text)
        return re.sub("\x00(\\d+)\x00", lambda m: held[int(m.group(1))], text)

    def _phone(self, m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(0))[-10:]
        if digits not in self._phones:
            self._phones[digits] = f"(202) 555-01{len(self._phones) % 100:02d}"
        return self._phones[digits]

    def _a_number(self, m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(2))
        if not 7 <= len(digits) <= 9:
            return m.group(0)
        if digits not in self._a_numbers:
            self._a_numbers[digits] = f"A{len(self._a_numbers) + 1:09d}"
        return self._a_numbers[digits]
