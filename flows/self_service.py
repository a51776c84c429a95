"""Self-service answers (hours, phone numbers, what to bring, what this assistant can and
cannot do) and recognising an applicant who wants a person instead."""

import re
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Phones(_Strict):
    main: str = Field(pattern=r"^\d{3}-\d{3}-\d{4}$")
    tty: str = Field(pattern=r"^\d{3}-\d{3}-\d{4}$")
    abroad: str = Field(pattern=r"^\d{3}-\d{3}-\d{4}$")


class Topic(_Strict):
    id: str = Field(pattern=r"^[a-z_]{1,24}$")
    label: str = Field(min_length=1)
    answer: str = Field(min_length=1)  # may name {main}, {tty}, {abroad}


class SelfService(_Strict):
    """`config/self_service.toml`."""

    phones: Phones
    topics: list[Topic] = Field(min_length=1)
    # Words that mean "this did not help" or "let me talk to someone" (matched whole).
    person_phrases: list[str] = Field(min_length=1)

    def topic(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def answer(self, topic: Topic) -> str:
        return topic.answer.format(**self.phones.model_dump())

    @cached_property
    def _padded_phrases(self) -> tuple[str, ...]:
        # Simplified once per configuration, not on every message.
        return tuple(f" {_simplify(p)} " for p in self.person_phrases)

    def wants_person(self, text: str) -> bool:
        """Whether `text` asks for a person or says the answer did not help."""
        said = f" {_simplify(text)} "
        return any(phrase in said for phrase in self._padded_phrases)


_NOT_LETTERS = re.compile(r"[^a-z ]+")


def _simplify(text: str) -> str:
    return " ".join(_NOT_LETTERS.sub(" ", text.lower().replace("'", "")).split())
