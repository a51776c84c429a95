"""US phone numbers as people type them, normalised to E.164 (+1 and ten digits).

Accepted: 2025550143, 202-555-0143, (202) 555-0143, 202.555.0143, +1 202 555 0143,
1-202-555-0143. The area code and the exchange must start with 2-9 (the North American
numbering plan), which also refuses most typos. Anything else is refused, never guessed.
"""

from __future__ import annotations

import re

from msgspec import Struct

_SHAPE = re.compile(
    r"^(?:\+?1[\s.\-]?)?\(?(?P<area>\d{3})\)?[\s.\-]?(?P<exchange>\d{3})[\s.\-]?(?P<line>\d{4})$"
)


class PhoneNumber(Struct, frozen=True):
    e164: str  # "+12025550143"

    @property
    def masked(self) -> str:
        """For staff screens and logs: only the last two digits."""
        return f"***-***-**{self.e164[-2:]}"

    @property
    def display(self) -> str:
        d = self.e164[2:]
        return f"({d[:3]}) {d[3:6]}-{d[6:]}"


def parse_us_phone(text: str) -> PhoneNumber | None:
    """The normalised number, or None when `text` is not a US phone number."""
    m = _SHAPE.match(text.strip())
    if m is None:
        return None
    area, exchange, line = m["area"], m["exchange"], m["line"]
    if area[0] in "01" or exchange[0] in "01":
        return None
    return PhoneNumber(f"+1{area}{exchange}{line}")
