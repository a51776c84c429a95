"""What every backend shares, below both: the errors, a `Write`, and how a database
location reads (a path: a SQLite file; a `postgresql://` URL: a PostgreSQL database)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from msgspec import Struct

Params = Sequence[Any] | Mapping[str, Any]
# A `postgresql://` (or `postgres://`) URL names a PostgreSQL database; anything else is the
# path of a SQLite file.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class StorageError(Exception):
    """The database cannot be opened, migrated or written; the message says why."""


class Conflict(Exception):
    """A write's precondition did not hold (a slot filled up, a row changed meanwhile).
    Nothing of that caller's writes was kept; read again and decide again."""


class Write(Struct, frozen=True):
    """One SQL statement to run in the caller's atomic group of writes."""

    sql: str
    params: Params = ()
    expect_rows: int | None = None


def is_postgres_url(location: object) -> TypeGuard[str]:
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def redact(location: object) -> str:
    """A database location for messages: a URL without its password."""
    text = str(location)
    if not is_postgres_url(text):
        return text
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
