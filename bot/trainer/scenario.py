"""Scenario files: the YAML schema (pydantic) and the loader that reports file and line.

A scenario is a conversation told as data: the clock (`now`), the case records it needs,
and the steps, each one applicant input with what must come back, a move of the clock, or
a staff action. See `docs/scenarios.md` for the reference. Errors name the file and the
line: the YAML is composed into a node tree first, and pydantic's error locations are
walked down that tree to the node they point at.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ACTIONS = ("say", "press", "press_data", "advance", "at", "staff", "operator")
INPUTS = ("say", "press", "press_data")
DEFAULT_USER = "applicant"
_RECEIPT = re.compile(r"[A-Z]{3}\d{10}")
_ZIP = re.compile(r"\d{5}(-\d{4})?")
_DURATION = re.compile(r"(\d+)\s*([wdhms])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


class ScenarioError(Exception):
    """A scenario file is invalid; the message starts with ``file:line:``."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(_Strict):
    """What must hold after a step. Every field is optional; only those given are checked."""

    state: str | None = None
    tier: Literal["automated", "tier1", "tier2", "closed"] | None = None
    reply_contains: list[str] = Field(default_factory=list)
    reply_not_contains: list[str] = Field(default_factory=list)
    buttons: list[str] = Field(default_factory=list)
    no_buttons: bool = False
    rule_contains: str | None = None
    summary_contains: str | None = None  # staff steps: the desk's summary of the outcome

    @field_validator("reply_contains", "reply_not_contains", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _buttons_or_none(self) -> Expect:
        if self.no_buttons and self.buttons:
            raise ValueError("`buttons` and `no_buttons: true` contradict each other")
        return self


class StaffAction(_Strict):
    """An officer completes a callback through the staff desk."""

    complete: str = Field(description='a reference, or "last": the newest open one')
    outcome: Literal["resolved", "appointment", "biometrics", "refused", "no-answer"]
    note: str = ""
    staff_id: str = "trainer"


class OperatorAction(_Strict):
    """A Tier 1 operator in a live chat, through the live desk: pick a waiting chat up,
    write to the applicant, hand the applicant back to the assistant, or resolve the chat
    with a closing note. All but `pick` act on the chat this operator has picked up."""

    pick: str | None = Field(default=None, description='a reference, or "last": the newest')
    say: str | None = None
    back: bool = False
    resolve: str | None = None  # the closing note ("" for none)
    staff_id: str = "trainer-operator"

    @model_validator(mode="after")
    def _exactly_one(self) -> OperatorAction:
        given = [
            name
            for name, value in (
                ("pick", self.pick),
                ("say", self.say),
                ("back", self.back or None),
                ("resolve", self.resolve),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError("an operator step needs exactly one of pick, say, back, resolve")
        return self

    def describe(self) -> str:
        if self.pick is not None:
            return f"operator picks up {self.pick!r}"
        if self.say is not None:
            return f"operator says {self.say!r}"
        if self.back:
            return "operator hands the applicant back to the assistant"
        return f"operator resolves the chat with note {self.resolve!r}"


_STAFF_EXPECT = {"state", "tier", "rule_contains", "summary_contains"}
_INPUT_EXPECT = set(Expect.model_fields) - {"summary_contains"}


class Step(_Strict):
    """One step: exactly one of the actions in `ACTIONS`, and optional expectations."""

    say: str | None = None
    press: str | None = None
    press_data: str | None = None
    advance: timedelta | None = None
    at: datetime | None = None
    staff: StaffAction | None = None
    operator: OperatorAction | None = None
    user: str = DEFAULT_USER
    expect: Expect | None = None

    @field_validator("advance", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError('write a duration such as "90m", "2h", "3d" or "1d 4h"')
        text = value.strip().lower()
        parts = _DURATION.findall(text)
        if not parts or _DURATION.sub("", text).strip():
            raise ValueError(f'{value!r} is not a duration such as "90m", "2h", "3d" or "1d 4h"')
        return sum((timedelta(**{_UNITS[unit]: int(n)}) for n, unit in parts), timedelta())

    @model_validator(mode="after")
    def _exactly_one_action(self) -> Step:
        given = [name for name in ACTIONS if getattr(self, name) is not None]
        if len(given) != 1:
            found = f" (found: {', '.join(given)})" if given else ""
            raise ValueError(f"a step needs exactly one of {', '.join(ACTIONS)}{found}")
        if self.expect is not None and self.kind == "clock":
            raise ValueError("a clock step (advance/at) takes no `expect`")
        if self.expect is not None:
            allowed = _STAFF_EXPECT if self.kind == "staff" else _INPUT_EXPECT
            extra = sorted(self.expect.model_fields_set - allowed)
            if extra:
                raise ValueError(f"a {self.kind} step cannot expect {', '.join(extra)}")
        return self

    @property
    def action(self) -> str:
        return next(name for name in ACTIONS if getattr(self, name) is not None)

    @property
    def kind(self) -> Literal["input", "clock", "staff"]:
        action = self.action
        if action in INPUTS:
            return "input"
        return "staff" if action in ("staff", "operator") else "clock"

    def describe(self) -> str:
        """A short human form of the step, for reports and demos."""
        action = self.action
        who = "" if self.user == DEFAULT_USER else f"[{self.user}] "
        if action == "say":
            return f"{who}say {self.say!r}"
        if action == "press":
            return f"{who}press {self.press!r}"
        if action == "press_data":
            return f"{who}press button data {self.press_data!r}"
        if action == "advance":
            return f"advance the clock by {self.advance}"
        if action == "at":
            return f"set the clock to {self.at}"
        if self.operator is not None:
            return self.operator.describe()
        assert self.staff is not None
        return f"staff completes {self.staff.complete!r} with outcome {self.staff.outcome}"


class CaseRow(_Strict):
    """A row of the cases table, with the column names of the cases CSV import."""

    receipt_number: str
    form_type: str = Field(min_length=1)
    status_title: str = Field(min_length=1)
    status_date: date
    zip_code: str | None = None
    biometrics_at: datetime | None = None
    biometrics_site: str | None = None
    biometrics_reschedules: int = Field(default=0, ge=0)

    @field_validator("receipt_number", mode="before")
    @classmethod
    def _receipt(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("a receipt number is three letters and ten digits, as text")
        normal = re.sub(r"[\s\-]", "", value).upper()
        if not _RECEIPT.fullmatch(normal):
            raise ValueError(f"{value!r} is not a receipt number (three letters, ten digits)")
        return normal

    @field_validator("zip_code", mode="before")
    @classmethod
    def _zip(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value)
        if not _ZIP.fullmatch(text):
            raise ValueError(f'{text!r} is not a ZIP code; write it in quotes, e.g. "02134"')
        return text


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    now: datetime
    # The language of the applicants' channel (as Telegram's language_code would say):
    # "es" plays the scenario in Spanish until an applicant chooses otherwise. Default: the
    # default_language setting.
    language: str | None = None
    cases: list[CaseRow] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    source: str = Field(default="", exclude=True)  # the file it was read from
    step_lines: tuple[int, ...] = Field(default=(), exclude=True)  # line of each step

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        from bot.languages import LANGUAGES, language_of

        if value is not None and language_of(value) is None:
            raise ValueError(f"unknown language {value!r} (one of: {', '.join(LANGUAGES)})")
        return value

    @field_validator("now", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            raise ValueError("`now` needs a time too, e.g. 2026-11-23T10:00")
        return value

    @model_validator(mode="after")
    def _unique_cases(self) -> Scenario:
        seen: set[str] = set()
        for row in self.cases:
            if row.receipt_number in seen:
                raise ValueError(f"case {row.receipt_number} is listed twice")
            seen.add(row.receipt_number)
        return self

    def step_line(self, index: int) -> int | None:
        """The line of step `index` (0-based) in the source file, when known."""
        return self.step_lines[index] if index < len(self.step_lines) else None

    @property
    def users(self) -> list[str]:
        """The applicants of the scenario, in order of first appearance."""
        users: list[str] = []
        for step in self.steps:
            if step.kind != "clock" and step.user not in users:
                users.append(step.user)
        return users or [DEFAULT_USER]


# ---- loading ------------------------------------------------------------------------------


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file, or raise `ScenarioError` with file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(path, None, f"cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ScenarioError(path, None, "is not UTF-8 text") from None
    return parse_scenario(text, path)


def parse_scenario(text: str, path: Path | str = "<scenario>") -> Scenario:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.SafeLoader(text).get_single_data() if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(path, line, f"not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(path, None, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(path, 1, "a scenario is a mapping with name, now and steps")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        field = ".".join(str(part) for part in loc) or "(top level)"
        reason = err["msg"].removeprefix("Value error, ")
        raise ScenarioError(path, line_of(root, loc), f"{field}: {reason}") from None
    steps = _child(root, "steps")
    lines = tuple(n.start_mark.line + 1 for n in steps.value) if steps is not None else ()
    return scenario.model_copy(update={"source": str(path), "step_lines": lines})


def line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line (1-based) of the node a pydantic error location points at: the deepest
    node along `loc` that exists (a missing field points at its parent mapping)."""
    if root is None:
        return None
    node = root
    for part in loc:
        child = _child(node, part)
        if child is None:
            continue  # a part pydantic adds (a union tag) or a missing key: stay here
        node = child
    return node.start_mark.line + 1


def _child(node: yaml.Node, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def scenario_files(paths: list[Path]) -> list[Path]:
    """The files named, and the *.yaml / *.yml files under the folders named, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            files.append(path)
        else:
            raise ScenarioError(path, None, "no such file or folder")
    return files
