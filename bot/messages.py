"""The message catalogue: every sentence a user reads, addressed by key.

Texts live in `config/messages/*.toml`; nested tables become dotted keys (`[menu] prompt`
is `menu.prompt`). Code asks for a key and passes named values; it never concatenates
sentences. The catalogue is validated on load: every value is text, every placeholder is
well formed, and no key is defined in two files.

One placeholder is filled by the catalogue itself: `{practice}` is the text of
`practice.note` while the `practice_mode` setting is on (the default), and nothing when it
is off. It stands at the end of a text (the greeting, every booking confirmation).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config import ConfigError, read_toml

_FORMATTER = string.Formatter()


class MissingMessage(KeyError):
    """Code asked for a key the catalogue does not have (a bug, found by the tests)."""


PRACTICE = "{practice}"  # filled by the catalogue: see the module's doc
PRACTICE_NOTE = "practice.note"


class Catalogue:
    """Message texts by dotted key."""

    def __init__(self, texts: Mapping[str, str], *, practice: bool = True) -> None:
        self._texts = dict(texts)
        self.practice = practice

    def practising(self, on: bool) -> Catalogue:
        """The same texts, with the practice note shown (`on`) or left out."""
        return self if on == self.practice else Catalogue(self._texts, practice=on)

    @classmethod
    def load(cls, directory: Path) -> Catalogue:
        texts: dict[str, str] = {}
        origin: dict[str, Path] = {}
        files = sorted(directory.glob("*.toml"))
        if not files:
            raise ConfigError(str(directory), "", "no message files (*.toml) found")
        for path in files:
            for key, value in _flatten(read_toml(path), path):
                if key in texts:
                    raise ConfigError(str(path), key, f"already defined in {origin[key].name}")
                texts[key], origin[key] = value, path
        return cls(texts)

    def __contains__(self, key: str) -> bool:
        return key in self._texts

    def keys(self) -> set[str]:
        return set(self._texts)

    def text(self, key: str, **params: Any) -> str:
        try:
            template = self._texts[key]
        except KeyError:
            raise MissingMessage(key) from None
        if PRACTICE in template:
            note = self._texts.get(PRACTICE_NOTE, "") if self.practice else ""
            return template.format_map({**params, "practice": note}).rstrip()
        return (
            template.format_map(params)
            if params
            else template.replace("{{", "{").replace("}}", "}")
        )


def _flatten(table: Mapping[str, Any], path: Path, prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            out.extend(_flatten(value, path, key + "."))
        elif isinstance(value, str):
            try:
                list(_FORMATTER.parse(value))
            except ValueError as exc:
                raise ConfigError(str(path), key, f"bad placeholder: {exc}") from None
            out.append((key, value))
        else:
            raise ConfigError(str(path), key, f"must be text, not {type(value).__name__}")
    return out
