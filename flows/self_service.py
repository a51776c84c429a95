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
    def _any_phrase(self) -> re.Pattern[str]:
        # Simplified once per configuration, not on every message; one search for any of
        # them (a scan of the text in C, not a Python loop over the phrases).
        return re.compile("|".join(re.escape(f" {_simplify(p)} ") for p in self.person_phrases))

    def wants_person(self, text: str) -> bool:
        """Whether `text` asks for a person or says the answer did not help: one of the
        phrases, simplified, is in the simplified text (whole words)."""
        return self._any_phrase.search(f" {_simplify(text)} ") is not None


_NOT_LETTERS = re.compile(r"[^a-z ]+")


def _simplify(text: str) -> str:
    return " ".join(_NOT_LETTERS.sub(" ", text.lower().replace("'", "")).split())
