"""The case-status catalogue: a status title as the status page words it, mapped to its
group, what it means in plain language and the next step.

Titles vary slightly over the years (case, apostrophes, spacing), so they are matched on a
simplified form. A title the catalogue does not know still gets an answer that is correct
for any status: the generic meaning and next step of the catalogue.
"""

import re
from functools import cached_property
from typing import Self

from msgspec import Struct
from pydantic import BaseModel, ConfigDict, Field, model_validator

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_EXPLAINED_KEPT = 1024  # explanations kept by title (`StatusCatalogue.explain`)


def title_key(title: str) -> str:
    """The form titles are matched on: lower case letters and digits only."""
    return _NOT_ALNUM.sub("", title.lower())


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class StatusGroup(_Strict):
    name: str = Field(min_length=1)
    meaning: str = Field(min_length=1)
    next_step: str = Field(min_length=1)


class StatusTitle(_Strict):
    title: str = Field(min_length=1)
    group: str
    # Optional: a title that needs more than its group's words (a deadline, a 30-day wait).
    meaning: str | None = None
    next_step: str | None = None
    # The answer says when and where the case's biometrics appointment is, when one is known.
    shows_biometrics_appointment: bool = False


class StatusCatalogue(_Strict):
    """`config/case_statuses.toml`."""

    groups: dict[str, StatusGroup]
    titles: list[StatusTitle]
    generic: StatusGroup

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        seen: set[str] = set()
        for t in self.titles:
            if t.group not in self.groups:
                raise ValueError(f"title {t.title!r} names unknown group {t.group!r}")
            key = title_key(t.title)
            if key in seen:
                raise ValueError(f"title {t.title!r} is listed twice")
            seen.add(key)
        return self

    @cached_property
    def _by_key(self) -> dict[str, StatusTitle]:
        # Built once per catalogue: a lookup is one dict access, not a scan of every title.
        return {title_key(t.title): t for t in self.titles}

    @cached_property
    def _explained(self) -> dict[str, "StatusExplanation"]:
        return {}  # title as given -> its explanation (`explain`)

    def explain(self, title: str) -> "StatusExplanation":
        """What `title` means and what to do next, with the rule that decided."""
        # The same few titles turn after turn: each worked out once (bounded: a live source
        # may name titles the catalogue has never seen).
        explained = self._explained
        found = explained.get(title)
        if found is None:
            if len(explained) >= _EXPLAINED_KEPT:
                explained.clear()
            found = explained[title] = self._explanation(title)
        return found

    def _explanation(self, title: str) -> "StatusExplanation":
        t = self._by_key.get(title_key(title))
        if t is not None:
            group = self.groups[t.group]
            return StatusExplanation(
                rule=f"status.{t.group}",
                group=t.group,
                group_name=group.name,
                meaning=t.meaning or group.meaning,
                next_step=t.next_step or group.next_step,
                shows_biometrics_appointment=t.shows_biometrics_appointment,
            )
        return StatusExplanation(
            rule="status.unknown_title",
            group=None,
            group_name=self.generic.name,
            meaning=self.generic.meaning,
            next_step=self.generic.next_step,
        )


class StatusExplanation(Struct, frozen=True):
    rule: str
    group: str | None
    group_name: str
    meaning: str
    next_step: str
    shows_biometrics_appointment: bool = False
