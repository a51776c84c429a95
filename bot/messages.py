"""The message catalogue: every sentence a user reads, addressed by key.

Texts live in `config/messages/*.toml`; nested tables become dotted keys (`[menu] prompt`
is `menu.prompt`). Code asks for a key and passes named values; it never concatenates
sentences. The catalogue is validated on load: every value is text, every placeholder is
well formed, and no key is defined in two files.

One placeholder is filled by the catalogue itself: `{practice}` is the text of
`practice.note` while the `practice_mode` setting is on (the default), and nothing when it
is off. It stands at the end of a text (the greeting, every booking confirmation).

Languages (bot/languages.py): `config/messages/*.toml` is English, the catalogue every key
is written in first; `config/messages/<code>/*.toml` (for example `es/`) mirrors it in
another language. When the catalogue loads, each other language must give every key of the
English one with the same placeholders, except the keys only staff read
(`bot.languages.STAFF_ONLY`), which fall back to English; a key English does not have is
refused. `Catalogue.in_language(code)` is the catalogue of one language.

Texts an applicant reads that come from the rule files of `config/` (a status's meaning and
next step, a self-service answer, a good cause, a request type and its checklist) are
translated in `config/<code>/<file>.toml`: the same tables as the English file, with only
the texts (list items matched by their `id` or `title`, plain lists by position). They
become `Catalogue.literal`: the English text as the rules hand it over, in this language.
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config import ConfigError, derived_from_files, read_toml
from bot.languages import BASE, LANGUAGES, staff_only

_FORMATTER = string.Formatter()


class MissingMessage(KeyError):
    """Code asked for a key the catalogue does not have (a bug, found by the tests)."""


PRACTICE = "{practice}"  # filled by the catalogue: see the module's doc
PRACTICE_NOTE = "practice.note"


class Catalogue:
    """Message texts by dotted key, in one language; `in_language` gives the others."""

    def __init__(
        self,
        texts: Mapping[str, str],
        *,
        practice: bool = True,
        language: str = BASE,
        others: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._texts = dict(texts)
        self.practice = practice
        self.language = language
        # Every language's texts (this one's too), so any catalogue can give any language.
        self._all: dict[str, Mapping[str, str]] = dict(others or {})
        self._all.setdefault(language, self._texts)
        self._siblings: dict[str, Catalogue] = {language: self}
        self._literals: dict[str, Mapping[str, str]] = {}
        self._plain: dict[str, str] = {}  # texts asked for without values, as written

    def literal(self, english: str) -> str:
        """A text from config/'s rule files (English) in this catalogue's language: the
        whole text, else line by line (a checklist of bullets); as it is when untranslated."""
        table = self._literals.get(self.language)
        if not table:
            return english
        found = table.get(english)
        if found is not None:
            return found
        lines = []
        for line in english.split("\n"):
            body = line.lstrip("•-* ")
            lines.append(line[: len(line) - len(body)] + table.get(body, body))
        return "\n".join(lines)

    def practising(self, on: bool) -> Catalogue:
        """The same texts, with the practice note shown (`on`) or left out."""
        if on == self.practice:
            return self
        out = Catalogue(self._texts, practice=on, language=self.language, others=self._all)
        out._literals = self._literals
        return out

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages this catalogue has, the base one first."""
        return tuple(sorted(self._all, key=lambda code: (code != BASE, code)))

    def in_language(self, code: str | None) -> Catalogue:
        """The catalogue of language `code` (this one when it has no such language)."""
        if code is None or code == self.language:
            return self
        found = self._siblings.get(code)
        if found is None:
            texts = self._all.get(code)
            if texts is None:
                return self
            found = Catalogue(texts, practice=self.practice, language=code, others=self._all)
            found._siblings = self._siblings
            found._literals = self._literals
            self._siblings[code] = found
        return found

    @classmethod
    def load(cls, directory: Path) -> Catalogue:
        """The catalogue of `directory` (config/messages), checked as the module's doc says.
        A check of the same files passes the same way, so what it found is kept beside the
        parsed files (`bot.config.derived_from_files`) and a start with unchanged files skips
        it; any edit checks again."""
        try:
            files = _source_files(directory)
        except OSError as exc:
            raise ConfigError(str(directory), "", f"cannot be read: {exc.strerror}") from None
        others, literals = derived_from_files(
            "catalogue", directory.parent, files, lambda: _checked(directory)
        )
        out = cls(others[BASE], others=others)
        out._literals = dict(literals)
        return out

    @staticmethod
    def load_flat(path: Path) -> dict[str, str]:
        """One message file's texts by dotted key (as written, not checked against others)."""
        return dict(_flatten(read_toml(path), path))

    def text_of(self, key: str) -> str:
        """The template of `key`, placeholders unfilled."""
        return self._texts[key]

    def __contains__(self, key: str) -> bool:
        return key in self._texts

    def keys(self) -> set[str]:
        return set(self._texts)

    def text(self, key: str, **params: Any) -> str:
        return self.filled(key, params)

    def filled(self, key: str, params: Mapping[str, Any]) -> str:
        """`text(key, **params)` with the values given as one mapping."""
        if params:
            return self._fill(key, params)
        plain = self._plain.get(key)
        if plain is None:  # worked out once per key: the same every time
            plain = self._plain[key] = self._fill(key, params)
        return plain

    def _fill(self, key: str, params: Mapping[str, Any]) -> str:
        try:
            template = self._texts[key]
        except KeyError:
            raise MissingMessage(key) from None
        if PRACTICE in template:
            note = self._texts.get(PRACTICE_NOTE, "") if self.practice else ""
            return template.format_map({**params, "practice": note}).rstrip()
        if params:
            return template.format_map(params)
        return template.replace("{{", "{").replace("}}", "}")


Texts = dict[str, dict[str, str]]


def _checked(directory: Path) -> tuple[Texts, Texts]:
    """Every language's texts and the translated rule texts, each checked."""
    texts = _load_files(directory)
    others: Texts = {BASE: texts}
    for sub in sorted(p for p in directory.iterdir() if p.is_dir()):
        if sub.name not in LANGUAGES:
            raise ConfigError(str(sub), "", f"unknown language {sub.name!r}")
        others[sub.name] = _mirrored(texts, _load_files(sub), sub)
    rules = directory.parent
    literals = {
        code: _rule_texts(rules, rules / code)
        for code in others
        if code != BASE and (rules / code).is_dir()
    }
    return others, literals


def _source_files(directory: Path) -> list[Path]:
    """The files a catalogue is made of: its message files, each language's, and the rule
    files of config/ with their translations."""
    rules = directory.parent
    files = sorted(directory.glob("*.toml"))
    for sub in sorted(p for p in directory.iterdir() if p.is_dir()):
        files += [sub, *sorted(sub.glob("*.toml"))]  # a folder counts by its name
        translated = rules / sub.name
        if translated.is_dir():
            for path in sorted(translated.glob("*.toml")):
                files += [path, *([rules / path.name] if (rules / path.name).exists() else [])]
    return files


def _load_files(directory: Path) -> dict[str, str]:
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
    return texts


def placeholders(template: str) -> set[str]:
    """The names a text's placeholders use (`{when}`, `{limit:,}` -> when, limit)."""
    return {name for _, name, _, _ in _FORMATTER.parse(template) if name}


def _mirrored(base: Mapping[str, str], texts: dict[str, str], directory: Path) -> dict[str, str]:
    """Another language's texts, checked against the base: every key the applicant may read
    is there with the same placeholders, and no key the base lacks; staff-only keys it
    leaves out are the base's."""
    for key, value in texts.items():
        if key not in base:
            raise ConfigError(str(directory), key, "not a key of the English catalogue")
        if placeholders(value) != placeholders(base[key]):
            want = ", ".join(sorted(placeholders(base[key]))) or "none"
            raise ConfigError(str(directory), key, f"placeholders differ (English has: {want})")
    missing = sorted(k for k in base if k not in texts and not staff_only(k))
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise ConfigError(str(directory), missing[0], f"missing{more}")
    return {**{k: v for k, v in base.items() if k not in texts}, **texts}


def _rule_texts(rules: Path, translated: Path) -> dict[str, str]:
    """English text -> translated text, from `translated/<file>.toml` beside `rules/<file>`."""
    out: dict[str, str] = {}
    for path in sorted(translated.glob("*.toml")):
        if not (rules / path.name).exists():
            # Names from outside config/ (holidays.toml): English name -> translation.
            names = read_toml(path).get("names", {})
            if not isinstance(names, Mapping) or not all(
                isinstance(v, str) for v in names.values()
            ):
                raise ConfigError(str(path), "names", "must be a table of texts")
            out.update(names)
            continue
        english = read_toml(rules / path.name)
        pairs: list[tuple[str, str]] = []
        _pair(english, read_toml(path), path, "", pairs)
        fill = english.get("phones")  # self_service.toml: answers name {main}, {tty}, {abroad}
        for en, other in pairs:
            out[en] = other
            if isinstance(fill, Mapping) and "{" in en:
                with contextlib.suppress(KeyError, ValueError, IndexError):
                    out[en.format_map(fill)] = other.format_map(fill)
    return out


def _pair(en: Any, other: Any, path: Path, where: str, out: list[tuple[str, str]]) -> None:
    if isinstance(other, str):
        if not isinstance(en, str):
            raise ConfigError(str(path), where, "not a text in the English file")
        if placeholders(en) != placeholders(other):
            raise ConfigError(str(path), where, "placeholders differ from the English file")
        out.append((en, other))
    elif isinstance(other, Mapping):
        if not isinstance(en, Mapping):
            raise ConfigError(str(path), where, "not a table in the English file")
        for name, value in other.items():
            if name not in en:
                raise ConfigError(str(path), f"{where}.{name}".lstrip("."), "not in English")
            _pair(en[name], value, path, f"{where}.{name}".lstrip("."), out)
    elif isinstance(other, list):
        if not isinstance(en, list):
            raise ConfigError(str(path), where, "not a list in the English file")
        for i, item in enumerate(other):
            match = _matching(en, item, i)
            if match is None:
                raise ConfigError(str(path), f"{where}[{i}]", "no such entry in English")
            _pair(match, item, path, f"{where}[{i}]", out)


def _matching(en: list[Any], item: Any, index: int) -> Any:
    for field in ("id", "title"):
        if isinstance(item, Mapping) and field in item:
            return next(
                (e for e in en if isinstance(e, Mapping) and e.get(field) == item[field]), None
            )
    return en[index] if index < len(en) else None


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
