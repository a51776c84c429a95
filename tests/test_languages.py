"""English and Spanish: both catalogues complete, the language picked as aiogram/grammY do,
and a Spanish journey that never falls back to English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, config_dir
from bot.languages import LANGUAGES, STAFF_ONLY, language_of, pick, staff_only
from bot.messages import Catalogue, placeholders
from flows import entry
from tests.conftest import jsonl
from tests.pg_server import scenario_database

MESSAGES = config_dir() / "messages"
NOW = ("--now", "2026-11-23T10:00")  # Monday, inside live hours


def test_every_applicant_key_is_in_both_catalogues_with_the_same_placeholders() -> None:
    english = Catalogue.load(MESSAGES)
    spanish_files: dict[str, str] = {}
    for path in sorted((MESSAGES / "es").glob("*.toml")):
        spanish_files.update(Catalogue.load_flat(path))
    exempt = {k for k in sorted(english.keys()) if staff_only(k)}
    assert exempt, "the staff-only exemptions name real keys"
    assert set(spanish_files) == english.keys() - exempt | (set(spanish_files) & exempt)
    for key in english.keys() - exempt:
        assert key in spanish_files, f"{key} has no Spanish text"
        assert placeholders(spanish_files[key]) == placeholders(english.text_of(key)), key
    # the exemptions, in one place: staff, operator and trainer text only
    assert STAFF_ONLY and all(
        p.startswith(("tier2.staff.", "tier1.live_chat.staff.", "field_office.staff.", "telegram."))
        for p in STAFF_ONLY
    )


def test_a_missing_spanish_key_or_placeholder_is_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "messages" / "es").mkdir(parents=True)
    (tmp_path / "messages" / "m.toml").write_text('[a]\nb = "Hello {name}"\nc = "Bye"\n')
    (tmp_path / "messages" / "es" / "m.toml").write_text('[a]\nb = "Hola {nombre}"\nc = "Adiós"\n')
    with pytest.raises(ConfigError, match="placeholders differ"):
        Catalogue.load(tmp_path / "messages")
    (tmp_path / "messages" / "es" / "m.toml").write_text('[a]\nb = "Hola {name}"\n')
    with pytest.raises(ConfigError, match="missing"):
        Catalogue.load(tmp_path / "messages")


def test_language_is_the_choice_then_telegram_code_then_the_default() -> None:
    assert [language_of(c) for c in ("es", "es-MX", "es-419", "es_US", "en-US", "fr", None)] == [
        "es",
        "es",
        "es",
        "es",
        "en",
        None,
        None,
    ]
    assert pick("en", "es-MX", "es") == "en"
    assert pick(None, "es-MX", "en") == "es"
    assert pick(None, "fr", "es") == "es"
    assert set(entry.LANGUAGES) == set(LANGUAGES)


def _said(out: dict[str, Any]) -> str:
    return "\n\n".join(
        r["text"] + " " + " ".join(b["label"] for b in r["buttons"]) for r in out["replies"]
    )


def _english_labels() -> set[str]:
    """Whole English texts without placeholders (button labels) that Spanish says otherwise."""
    english = Catalogue.load(MESSAGES)
    spanish = english.in_language("es")
    return {
        english.text_of(k)
        for k in sorted(english.keys())
        if not staff_only(k)
        and "{" not in english.text_of(k)
        and english.text_of(k) != spanish.text_of(k)
    }


def _english_sentences() -> list[str]:
    """Pieces of every English applicant text long enough to be telling."""
    english = Catalogue.load(MESSAGES)
    pieces = []
    for key in sorted(english.keys()):
        if staff_only(key):
            continue
        for piece in re.split(r"\{[^}]*\}|\n", english.text_of(key)):
            if len(piece.strip()) >= 24:
                pieces.append(piece.strip())
    return pieces


@pytest.mark.parametrize(
    "lines",
    [
        # case status, typed in Spanish words
        ["hola", "estado de mi caso", "EAC2190000001", "menú"],
        # self-service answers and the biometrics reschedule start
        ["/start", {"button": "go:info"}, {"button": "topic:hours"}, "/menu", "reprogramar"],
        # a person: Tier 1 triage, and general information for someone else
        ["/start", "hablar con una persona", {"button": "role:applicant"}],
        ["/start", "hablar con una persona", {"button": "role:other"}],
        # the in-person request: its type, checklist (optional items too) and a Spanish date
        [
            "/start",
            {"button": "go:appointment"},
            "Permiso adelantado de emergencia",
            "A123456789",
            "Necesito viajar por la cirugía de mi madre la próxima semana",
            "Sí, los tengo",
            "(202) 555-0143",
            "10278",
            "30 de noviembre de 2026",
        ],
    ],
)
def test_a_spanish_journey_never_falls_back_to_english(tmp_path: Path, lines: list[Any]) -> None:
    outs = jsonl("--db", str(tmp_path / "es.db"), *NOW, "--lang", "es-MX", lines=lines)
    english, labels = _english_sentences(), _english_labels()
    for out in outs:
        said = _said(out)
        assert said.strip()
        leaked = [e for e in english if e in said]
        leaked += [b["label"] for r in out["replies"] for b in r["buttons"] if b["label"] in labels]
        assert not leaked, (said, leaked)
    # each journey got where it was going (no refusal on the way)
    assert outs[-1]["state"] in {
        "automated.menu",
        "automated.biometrics.ask_receipt",
        "tier1.issue",
        "tier1.general",
        "automated.appointment.submitted",
    }, outs[-1]


def test_language_switches_mid_flow_and_asks_the_question_again(tmp_path: Path) -> None:
    outs = jsonl(
        "--db",
        str(tmp_path / "sw.db"),
        *NOW,
        lines=[
            "/start",
            {"button": "go:status"},
            "/language es",
            "/language",
            {"button": "nav:language:en"},
        ],
    )
    assert "Please type the receipt number" in _said(outs[1])
    assert "Escriba el número de recibo" in _said(outs[2])
    assert "English" in _said(outs[3]) and "Español" in _said(outs[3])
    assert "Please type the receipt number" in _said(outs[4])
    assert all(o["state"] == "automated.status.ask_receipt" for o in outs[1:])


async def test_a_reminder_booked_in_english_is_sent_in_spanish_after_a_switch(
    tmp_path: Path,
) -> None:
    from datetime import datetime

    from tests.conftest import Chat
    from tests.tier_journeys import PHONE, engine_with, to_officer

    async with engine_with(
        tmp_path,
        at=datetime(2026, 11, 25, 17, 0),
        callback_opens="17:00",
        callback_closes="18:30",
    ) as (engine, clock):
        chat = Chat(engine)
        await to_officer(chat)
        await chat.press("day:20261130")
        await chat.press("slot:20261130T1700")
        await chat.send(PHONE)
        await chat.send("10278")
        await chat.press("confirm:yes")
        assert "send you a reminder the business day before" in chat.text
        await chat.send("hablo español")
        assert "le atiendo en español" in chat.text
        clock.set(datetime(2026, 11, 27, 17, 0))  # one business day before the call
        await chat.send("/menu")
        assert "Recordatorio: un oficial llamará al (202) 555-0143 el lunes, 30 de noviembre" in (
            chat.text
        ), chat.text
        assert "Reminder" not in chat.text


def _spanish_scenarios() -> list[Path]:
    from bot.trainer.scenario import load_scenario

    files = sorted((config_dir() / "scenarios").glob("*.yaml"))
    return [p for p in files if load_scenario(p).language == "es"]


def test_the_main_journeys_ship_as_spanish_scenarios() -> None:
    names = {p.name for p in _spanish_scenarios()}
    assert {
        "es-automated-case-status.yaml",
        "es-automated-biometrics-reschedule.yaml",
        "es-tier1-escalation-to-officer-callback.yaml",
        "es-tier2-officer-books-field-visit.yaml",
    } <= names


@pytest.mark.parametrize("path", _spanish_scenarios(), ids=lambda p: p.stem)
async def test_no_spanish_reply_of_a_shipped_scenario_falls_back_to_english(path: Path) -> None:
    from bot.trainer.runner import run_scenario
    from bot.trainer.scenario import load_scenario

    report = await run_scenario(load_scenario(path), database=scenario_database())
    assert report.error is None, report.error
    english, labels = _english_sentences(), _english_labels()
    assert "Talk to a person" in labels and "Main menu" in labels
    for step in report.steps:
        assert step.passed, (step.step.describe(), step.failures)
        if step.result is None:
            continue  # a clock or staff step: staff read English
        for reply in step.result.replies:
            said = reply.text + " " + " ".join(b.label for b in reply.buttons)
            leaked = [e for e in english if e in said]
            leaked += [b.label for b in reply.buttons if b.label in labels]
            assert not leaked, (step.step.describe(), said, leaked)


def test_a_preferred_date_is_read_in_spanish_too() -> None:
    from datetime import date

    from flows.appointment_request import read_date

    today = date(2026, 11, 23)
    assert read_date("30 de noviembre de 2026", today) == date(2026, 11, 30)
    assert read_date("15 de enero", today) == date(2027, 1, 15)
    assert read_date("November 30, 2026", today) == date(2026, 11, 30)


def test_a_federal_holiday_is_named_in_spanish(tmp_path: Path) -> None:
    thanksgiving = ("--now", "2026-11-26T10:00")
    outs = jsonl(
        "--db",
        str(tmp_path / "h.db"),
        *thanksgiving,
        "--lang",
        "es",
        lines=["/start", "hablar con una persona"],
    )
    said = _said(outs[-1])
    assert "Hoy es feriado federal (Día de Acción de Gracias)" in said, said
    assert "Thanksgiving" not in said
