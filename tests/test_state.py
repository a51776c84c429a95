"""The conversation state as stored (flows/state.py): `dump` writes what pydantic writes,
and `restore` reads it back to an equal state."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from flows.state import (
    EMPTY,
    BiometricsAnswers,
    CallbackDraft,
    ConversationState,
    LiveChatAnswers,
    RequestAnswers,
    TriageAnswers,
)

_TEXT = st.none() | st.text() | st.sampled_from(["", "en", "es", 'a "quoted"\\ \n\t\x00\x7f ñ 東'])


@given(receipt=_TEXT, reason=_TEXT, language=_TEXT)
def test_a_state_of_text_is_dumped_as_pydantic_dumps_it(
    receipt: str | None, reason: str | None, language: str | None
) -> None:
    state = ConversationState(receipt=receipt, escalation_reason=reason, language=language)
    assert state.dump() == state.model_dump_json(exclude_defaults=True)
    assert ConversationState.restore(state.dump()) == state


def test_states_with_nested_answers_are_dumped_as_pydantic_dumps_them() -> None:
    at = datetime(2026, 11, 23, 10, 30, tzinfo=ZoneInfo("America/New_York"))
    states = [
        EMPTY,
        EMPTY.but(receipt="EAC2190000001", language="es"),
        EMPTY.but(biometrics=BiometricsAnswers(site="x", day=date(2026, 11, 30))),
        EMPTY.but(request=RequestAnswers(type="t", preferred=date(2026, 12, 1))),
        EMPTY.but(triage=TriageAnswers()),
        EMPTY.but(triage=TriageAnswers(live=True, issue="lost")),
        EMPTY.but(callback=CallbackDraft(slot=at, urgent=True), receipt="IOE0912345678"),
        EMPTY.but(live_chat=LiveChatAnswers(reference="L-1")),
    ]
    for state in states:
        assert state.dump() == state.model_dump_json(exclude_defaults=True)
        assert ConversationState.restore(state.dump()) == state


def test_answers_compare_by_their_fields_and_stay_hashable() -> None:
    assert BiometricsAnswers(site="x") == BiometricsAnswers(site="x")
    assert BiometricsAnswers(site="x") != BiometricsAnswers(site="y")
    assert BiometricsAnswers() != RequestAnswers()  # two models, even with no field set
    assert EMPTY.but(receipt="A") == EMPTY.but(receipt="A") != EMPTY
    assert hash(EMPTY.but(receipt="A")) == hash(EMPTY.but(receipt="A"))
    assert len({BiometricsAnswers(), BiometricsAnswers(), TriageAnswers()}) == 2


def _validated(model: object, **changes: object) -> object:
    """`but` as it first was: every change validated by pydantic."""
    return type(model).model_validate({**model.__dict__, **changes})  # type: ignore[attr-defined]


@given(receipt=_TEXT, reason=_TEXT, language=_TEXT)
def test_but_makes_the_state_validation_makes(
    receipt: str | None, reason: str | None, language: str | None
) -> None:
    start = EMPTY.but(language="es")
    for state in (EMPTY, start):
        changed = state.but(receipt=receipt, escalation_reason=reason, language=language)
        if changed is state:  # every change a value it holds: the state itself, as ever
            assert (state.receipt, state.escalation_reason, state.language) == (
                receipt,
                reason,
                language,
            )
            continue
        expected = _validated(state, receipt=receipt, escalation_reason=reason, language=language)
        assert changed == expected and hash(changed) == hash(expected)
        assert changed.__dict__ == expected.__dict__  # type: ignore[attr-defined]
        assert changed.model_fields_set == expected.model_fields_set  # type: ignore[attr-defined]
        assert changed.__pydantic_extra__ == expected.__pydantic_extra__  # type: ignore[attr-defined]
        assert changed.__pydantic_private__ == expected.__pydantic_private__  # type: ignore[attr-defined]
        assert changed.dump() == expected.model_dump_json(exclude_defaults=True)  # type: ignore[attr-defined]
        assert repr(changed) == repr(expected)


def test_but_still_validates_what_is_not_text_for_a_text_field() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        EMPTY.but(receipt=12)
    with pytest.raises(ValidationError):
        EMPTY.but(no_such_field="x")
    with pytest.raises(ValidationError):
        CallbackDraft().but(urgency_rule=None)  # a text field that takes no None
    assert BiometricsAnswers().but(site="s1") == BiometricsAnswers(site="s1")
    assert CallbackDraft().but(day=date(2026, 12, 1)).day == date(2026, 12, 1)
    assert EMPTY.but(receipt="A").but(receipt="A") is not EMPTY
