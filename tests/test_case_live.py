"""The pure rules of live case data: reading the API's answer, HTML as plain text, what
changed between two looks at a case."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from flows.case_live import (
    CHANGE_STATUS,
    CHANGE_UPDATED,
    BadAnswer,
    Seen,
    error_message,
    plain_text,
    record_from_api,
    what_changed,
)
from flows.case_records import SOURCE_LIVE

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/New_York"))


def _answer(**case: object) -> dict[str, object]:
    base: dict[str, object] = {
        "receiptNumber": "EAC9999103403",
        "formType": "I-130",
        "submittedDate": "09-14-2023 08:12:45",
        "modifiedDate": "03-02-2026 14:31:05",
        "current_case_status_text_en": "Case Was Received",
        "current_case_status_desc_en": "<p>We received it.</p>",
        "current_case_status_text_es": "Caso Fue Recibido",
        "current_case_status_desc_es": "<p>Lo recibimos.</p>",
        "hist_case_status": [
            {"date": "2024-01-08", "completed_text_en": "B", "completed_text_es": "b"},
            {"date": "2023-09-14", "completed_text_en": "A", "completed_text_es": "a"},
        ],
    }
    base.update(case)
    return {"case_status": base, "message": "Query was successful"}


def test_the_documented_answer_becomes_a_case_record() -> None:
    record = record_from_api(_answer(), "EAC9999103403", NOW)
    assert record.form_type == "I-130"
    assert record.submitted_at == datetime(2023, 9, 14, 8, 12, 45)
    assert record.modified_at == datetime(2026, 3, 2, 14, 31, 5)
    assert record.status_date == date(2026, 3, 2)  # the date of the last change
    assert record.status_title_es == "Caso Fue Recibido"
    assert record.status_description == "We received it."
    assert record.status_description_es == "Lo recibimos."
    assert [h.text_en for h in record.history] == ["A", "B"]  # oldest first
    assert record.history[0].text_es == "a" and record.history[0].on == date(2023, 9, 14)
    assert record.source == SOURCE_LIVE and record.checked_at == NOW


def test_an_online_filing_without_dates_keeps_its_leading_zero() -> None:
    answer = _answer(
        receiptNumber=912345678,  # a server that treated it as a number
        submittedDate=None,
        modifiedDate="",
        hist_case_status=None,
    )
    record = record_from_api(answer, "IOE0912345678", NOW)
    assert record.receipt_number == "IOE0912345678"
    assert record.modified_at is None and record.submitted_at is None
    assert record.status_date == NOW.date() and record.history == ()


def test_an_answer_without_a_status_or_with_a_bad_date_is_refused() -> None:
    with pytest.raises(BadAnswer):
        record_from_api({"message": "x"}, "EAC9999103403", NOW)
    with pytest.raises(BadAnswer):
        record_from_api(_answer(current_case_status_text_en=""), "EAC9999103403", NOW)
    with pytest.raises(BadAnswer):
        record_from_api(_answer(modifiedDate="2026-03-02"), "EAC9999103403", NOW)


def test_html_descriptions_become_plain_text() -> None:
    markup = (
        "<p>On March 2, 2026, we <b>approved</b> your case.&nbsp;Go to "
        "<a href='https://x'>uscis.gov</a> &amp; read it.</p><p>Second&#39;s line<br/>third</p>"
    )
    assert plain_text(markup) == (
        "On March 2, 2026, we approved your case. Go to uscis.gov & read it.\nSecond's line\nthird"
    )
    assert plain_text(None) == "" and plain_text("") == ""


def test_what_changed_status_update_or_nothing() -> None:
    record = record_from_api(_answer(), "EAC9999103403", NOW)
    seen = Seen("Case Was Received", datetime(2026, 3, 2, 14, 31, 5))
    assert what_changed(None, record) is None  # the first look is the baseline
    assert what_changed(seen, record) is None
    assert what_changed(Seen("case was  received", seen.modified), record) is None
    assert what_changed(Seen("Case Was Approved", seen.modified), record) == CHANGE_STATUS
    assert what_changed(Seen(seen.title, datetime(2026, 1, 1)), record) == CHANGE_UPDATED
    assert what_changed(Seen(seen.title, None), record) is None  # a first modified date


def test_error_message_is_the_one_uscis_asks_clients_to_show() -> None:
    assert error_message({"errors": [{"code": "404", "message": "Case not found"}]}) == (
        "Case not found"
    )
    assert error_message(None) == ""
