"""The understanding layer for typed text (`flows/understanding.py`): pure functions."""

from __future__ import annotations

import pytest

from flows.understanding import Reading, a_number_in, label_for, read, receipt_in

MENU = {
    "go:status": "Check a case status",
    "go:biometrics": "Reschedule biometrics",
    "go:appointment": "Request an in-person appointment",
    "go:callback": "My requests",
    "nav:agent": "Talk to a person",
}
SLOTS = {
    "slot:20261123T1100": "Mon Nov 23, 11:00 a.m.",
    "slot:more": "Later times",
    "nav:back": "Back",
    "nav:menu": "Main menu",
}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("EAC2190000001", "EAC2190000001"),
        ('"EAC2190000001"', "EAC2190000001"),
        ("“eac-21-900-00001”", "eac-21-900-00001"),
        ("check my case EAC2190000001 please", "EAC2190000001"),
        ("my receipt is eac 219 000 0001, thanks", "eac 219 000 0001"),
        ("is IOE0912345678 approved?", "IOE0912345678"),
        ("my number EAC219000000 is on the notice", "EAC219000000"),  # a digit short: said
    ],
)
def test_a_receipt_is_found_inside_a_sentence_or_quotes(text: str, found: str) -> None:
    assert receipt_in(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "I moved in 2019 and 2020",
        "we paid 2021 2022 2023 taxes",  # letters and digits, but no receipt prefix
        "EAC2190000001 and WAC2315012345",  # two receipts: not guessed
    ],
)
def test_no_receipt_is_made_up(text: str) -> None:
    assert receipt_in(text) is None


def test_an_a_number_is_found_inside_a_sentence() -> None:
    assert a_number_in("my A-number is A-123-456-789") == "A123-456-789"
    assert a_number_in("A# 12345678 thanks") == "A12345678"
    assert a_number_in("about 12 things") is None


@pytest.mark.parametrize(
    ("text", "data"),
    [("Later times", "slot:more"), ("later  TIMES!", "slot:more"), ("main menu", "nav:menu")],
)
def test_a_typed_label_names_its_button(text: str, data: str) -> None:
    assert label_for(text, SLOTS) == data


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("help", Reading(command="help")),
        ("HELP", Reading(command="help")),
        ("hlep", Reading(command="help")),  # two letters swapped
        ("menu", Reading(command="menu")),
        ("menue", Reading(command="menu")),
        ("agent", Reading(command="agent")),
        ("agnet", Reading(command="agent")),
        ("back", Reading(command="back")),
        ("my requests", Reading(command="mine")),
        ("hola", Reading(command="language", args="es")),
        ("Hablo español", Reading(command="language", args="es")),
        ("ayuda", Reading(command="help")),
        ("hablar con una persona", Reading(command="agent")),
        ("estado de mi caso", Reading(command="status")),
        ("menú", Reading(command="menu")),
        ("in English", Reading(command="language", args="en")),
        ("status", Reading(command="status")),
        ("staus", Reading(command="status")),
    ],
)
def test_common_words_and_close_misspellings_name_a_command(text: str, reading: Reading) -> None:
    assert read(text, SLOTS) == reading


def test_words_name_the_menu_item_that_says_them() -> None:
    assert read("reschedule", MENU) == Reading(button="go:biometrics")
    assert read("reschedle", MENU) == Reading(button="go:biometrics")
    assert read("fingerprints", {"go:biometrics": "Biometrics"}) == Reading(button="go:biometrics")
    assert read("status", MENU) == Reading(button="go:status")  # the menu's own item
    assert read("later", SLOTS) == Reading(button="slot:more")
    assert read("later tmes", SLOTS) == Reading(button="slot:more")


@pytest.mark.parametrize("text", ["what is the meaning of life", "yes", "ok", "blue", "x"])
def test_other_words_are_not_guessed(text: str) -> None:
    assert read(text, MENU) is None
