"""What a conversation has collected, typed: one pydantic model per tier's answers.

The engine stores a `ConversationState` as JSON with the conversation and restores it at
the next turn; guards read it and return a changed copy (models are frozen, so a guard
cannot change the state it was given). Only what a later step reads is kept.
"""

import json.encoder
import operator
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

_ABSENT = object()


class _Answers(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def __eq__(self, other: object) -> bool:
        # pydantic's own comparison, less what these models never hold (private attributes,
        # extra fields, generic parameters): a dump compares the nested answers with their
        # defaults (`exclude_defaults`) on every save of a changed state: a Python call each.
        if type(other) is type(self):
            return self.__dict__ == other.__dict__
        return super().__eq__(other)

    def but(self, **changes: Any) -> Any:
        """A copy with `changes` (validated like the original: text for a plain text field
        is taken as validation would take it); itself when every change is a value it
        already holds (of the same type), as a frozen model may be shared."""
        held = self.__dict__
        texts, every = _TEXT_FIELDS.get(type(self)) or _text_fields(type(self))
        same, plain = True, True
        for name, value in changes.items():
            old = held.get(name, _ABSENT)
            if old is _ABSENT or type(old) is not type(value) or old != value:
                same = False
            if type(value) is not str or name not in texts:
                plain = False
        if same:
            return self
        if plain:
            # Text into fields that take any text as it is (a receipt, a rule id: most
            # changes): the copy validation would make, at a third of its cost.
            copy = _new(type(self))
            _set(copy, "__dict__", {**held, **changes})
            _set(copy, "__pydantic_fields_set__", set(every))
            _set(copy, "__pydantic_extra__", None)
            _set(copy, "__pydantic_private__", None)
            return copy
        # The fields as they are held (nested answers are frozen models, taken as they are
        # without being dumped and validated again), the changes validated.
        return type(self).model_validate({**held, **changes})


_new = object.__new__
_set = object.__setattr__  # as pydantic sets a model's own attributes (it is frozen)
# Per model: the fields a `str` is valid for as it is (annotated `str` or `str | None`, no
# constraint, no validator), and every field (`but`).
_TEXT_FIELDS: dict[type, tuple[frozenset[str], frozenset[str]]] = {}


def _text_fields(cls: type[BaseModel]) -> tuple[frozenset[str], frozenset[str]]:
    fields = cls.model_fields
    decorators = cls.__pydantic_decorators__
    plain = not (
        decorators.field_validators
        or decorators.model_validators
        or cls.__pydantic_post_init__
        or any(option.startswith("str_") for option in cls.model_config)  # strip, lower...
    )
    texts = frozenset(
        name
        for name, field in fields.items()
        if plain and field.annotation in (str, str | None) and not field.metadata
    )
    found = _TEXT_FIELDS[cls] = (texts, frozenset(fields))
    return found


class BiometricsAnswers(_Answers):
    """Biometrics rescheduling: the chosen support center, the good cause, the day."""

    site: str | None = None
    cause: str | None = None
    day: date | None = None  # the day whose free times are shown
    after: str | None = None  # no longer used (times are chosen by day); old states load


class RequestAnswers(_Answers):
    """The 2023-style in-person appointment request being filled in, then its reference."""

    type: str | None = None
    identifier: str | None = None
    reason: str | None = None
    preferred: date | None = None  # a preferred date, never guaranteed
    phone: str | None = None  # E.164, where an officer can reach the applicant
    zip: str | None = None  # where the applicant lives: the field office
    reference: str | None = None  # given when the request is stored


class TriageAnswers(_Answers):
    """Tier 1 triage: were operators live when it began, the issue, the visit's purpose."""

    live: bool = False
    role: str | None = None  # who is asking (flows.triage.ROLES); the officer sees it
    issue: str | None = None
    inperson_category: str | None = None


class CallbackDraft(_Answers):
    """A Tier 2 callback being booked (or a booked one being moved)."""

    issue: str = "something_else"
    role: str | None = None  # who is asking, for the officer
    triage_rule: str | None = None  # the rule that sent the inquiry to an officer
    evidence: str | None = None  # "yes" | "no": documents that show the need
    urgent: bool = False
    urgency_rule: str = "urgency.regular"
    inperson_category: str | None = None
    inperson_justified: bool | None = None
    inperson_rule: str | None = None
    walk_in_said: bool = False  # Tier 1 already gave the emergency walk-in guidance
    page: int = 0  # no longer used (times are chosen by day); kept so old states load
    day: date | None = None  # the day whose free times are shown
    slot: datetime | None = None
    phone: str | None = None  # E.164
    zip: str | None = None
    moving: str | None = None  # the reference of the booked callback being moved
    reference: str | None = None
    reminded: bool = False


class LiveChatAnswers(_Answers):
    """A live chat with a Tier 1 operator (`flows.tier1_live`): the queue entry's reference,
    the step to come back to, the operator once one has picked it up, and whether the wait
    ran out (the operator is then not offered again)."""

    reference: str | None = None
    came_from: str = "tier1.resolved"
    operator: str | None = None  # the staff id of the operator who picked it up
    timed_out: bool = False


class ConversationState(_Answers):
    """Everything a conversation carries between turns."""

    receipt: str | None = None  # the last case looked up (normalised receipt number)
    escalation_reason: str | None = None  # the rule id that sent it to Tier 1
    biometrics: BiometricsAnswers = BiometricsAnswers()
    request: RequestAnswers = RequestAnswers()
    triage: TriageAnswers | None = None
    callback: CallbackDraft | None = None
    live_chat: LiveChatAnswers | None = None
    # The language the applicant chose (/language, "hablo español"): bot/languages.py. Kept
    # when the rest of the state starts afresh (the engine carries it over).
    language: str | None = None

    @classmethod
    def restore(cls, stored: str | None) -> "ConversationState":
        """The state stored as JSON; a state this release cannot read starts afresh."""
        return _restore(stored or "{}")

    def dump(self) -> str:
        """The state as JSON, without the values that are their defaults."""
        # Most states hold nothing but text (a receipt, a language): written here as
        # pydantic writes them (the same text), without the cost of its serializer. The
        # other fields are compared with their defaults at once (one tuple: a loop over
        # every field cost this twice as much).
        held = self.__dict__
        if _OTHERS(held) != _OTHER_DEFAULTS:  # nested answers: pydantic writes them
            return self.model_dump_json(exclude_defaults=True)
        fields = []
        for name, default in _TEXT_DEFAULTS:
            value = held[name]
            if value is default or value == default:
                continue
            fields.append(f'"{name}":{_json_text(value)}')
        return "{" + ",".join(fields) + "}"


EMPTY = ConversationState()
# The fields of a ConversationState with their defaults, in their order (as pydantic writes
# them): those of text apart, for `dump`; the others as one tuple. A default as the field
# holds it (pydantic gives every state the same frozen answers, where `get_default` makes a
# copy): most are the very object, and compare at once.
_DEFAULTS = tuple(
    (
        name,
        field.get_default(call_default_factory=True) if field.default_factory else field.default,
        field.annotation in (str, str | None),
    )
    for name, field in ConversationState.model_fields.items()
)
_TEXT_DEFAULTS = tuple((name, default) for name, default, text in _DEFAULTS if text)
_OTHERS = operator.itemgetter(*(name for name, _, text in _DEFAULTS if not text))  # 2 or more
_OTHER_DEFAULTS = tuple(default for _, default, text in _DEFAULTS if not text)
_json_text = json.encoder.encode_basestring  # "text" quoted as JSON, non-ASCII kept as is


# Many conversations carry the same few states (most carry none): states are frozen, so
# one restored object can serve every turn that stored the same text.
@lru_cache(maxsize=1024)
def _restore(stored: str) -> ConversationState:
    if stored == "{}":
        return EMPTY
    try:
        return ConversationState.model_validate_json(stored)
    except ValueError:
        return EMPTY
