"""US ZIP codes placed on the map: where a 5-digit ZIP code is, in which state and time zone.

The data is the `zipcodes` package's (PyPI, MIT licence): about 42,000 ZIP codes with
their coordinates and IANA time zone, compiled into the wheel, so a lookup needs no network
and no file of ours. The package unpacks its data on its first query (about a second on a
slow machine); nothing is looked up when this module is imported, so start-up does not pay
for it, and each ZIP code is looked up once per process (`locate` is cached).

A ZIP code is *served* when it lies in a state, the District of Columbia or a territory
with USCIS field offices nearby. Military post codes (APO/FPO/DPO, "states" AA, AE, AP)
and the freely associated states (Micronesia, the Marshall Islands, Palau), which use US
ZIP codes but are not in the United States, are placed but not served: nobody there is
sent to a field office by distance.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from functools import lru_cache

import zipcodes
from msgspec import Struct

from flows.steps import Decision, refuse

_FIVE_DIGITS = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")

# Not served by a field office chosen by distance (see the module's doc).
OUTSIDE_US = frozenset({"AA", "AE", "AP", "FM", "MH", "PW"})

EARTH_RADIUS_KM = 6371.0


class ZipPlace(Struct, frozen=True):
    """Where a ZIP code is, by the package's data."""

    zip: str
    city: str
    state: str  # two letters, e.g. "NY", "PR", "AE"
    lat: float
    lon: float
    timezone: str | None  # IANA name; None when the data has none (military codes)

    @property
    def served(self) -> bool:
        return self.state not in OUTSIDE_US and self.timezone is not None


def five_digits(text: str | None) -> str | None:
    """The 5-digit ZIP code in `text` ('13202' or '13202-1234'), or None."""
    m = _FIVE_DIGITS.match(text or "")
    return m.group(1) if m else None


@lru_cache(maxsize=8192)
def locate(zip_code: str) -> ZipPlace | None:
    """The place of a 5-digit ZIP code, or None when the package does not know it."""
    if five_digits(zip_code) != zip_code:
        return None
    try:
        rows = zipcodes.matching(zip_code)
    except (TypeError, ValueError):
        return None
    if not rows:
        return None
    row = rows[0]
    try:
        lat, lon = float(row["lat"]), float(row["long"])
    except (KeyError, TypeError, ValueError):
        return None
    return ZipPlace(
        zip=zip_code,
        city=str(row.get("city") or ""),
        state=str(row.get("state") or ""),
        lat=lat,
        lon=lon,
        timezone=_zone(row.get("timezone")),
    )


def _zone(name: object) -> str | None:
    # A few rows carry a place name instead of an IANA zone; only "Area/Location" counts.
    return name if isinstance(name, str) and "/" in name else None


def distance_km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    dp, dl = p2 - p1, math.radians(b_lon - a_lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


class ZipRule(StrEnum):
    """How a typed ZIP code was read."""

    OK = "zip.served"
    BAD_FORMAT = "zip.bad_format"  # not five digits
    UNKNOWN = "zip.unknown"  # five digits, but no such ZIP code
    OUTSIDE_US = "zip.outside_us"  # a military post code or a freely associated state


class ZipCheck(Struct, frozen=True):
    rule: ZipRule
    zip: str | None = None  # the five digits, when there were five
    place: ZipPlace | None = None

    @property
    def ok(self) -> bool:
        return self.rule is ZipRule.OK


def check_zip(text: str | None) -> ZipCheck:
    """Read a typed ZIP code: served, or the reason it cannot be used."""
    zip_code = five_digits(text)
    if zip_code is None:
        return ZipCheck(ZipRule.BAD_FORMAT)
    place = locate(zip_code)
    if place is None:
        return ZipCheck(ZipRule.UNKNOWN, zip_code)
    if not place.served:
        return ZipCheck(ZipRule.OUTSIDE_US, zip_code, place)
    return ZipCheck(ZipRule.OK, zip_code, place)


# The text that says why a ZIP code cannot be used, by the rule it broke.
ZIP_REFUSALS: dict[ZipRule, str] = {
    ZipRule.BAD_FORMAT: "zip.refused.bad_format",
    ZipRule.UNKNOWN: "zip.refused.unknown",
    ZipRule.OUTSIDE_US: "zip.refused.outside_us",
}


def refuse_zip(check: ZipCheck) -> Decision:
    """Bad input: why this ZIP code cannot be used, asking for it again; nothing changes."""
    return refuse(check.rule, ZIP_REFUSALS[check.rule], zip=check.zip or "")
