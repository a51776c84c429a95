"""Languages on Telegram, end to end (real python-telegram-bot against the fake Bot API):
the user's language_code picks Spanish or English until they choose, /language switches in
the middle of a journey, and the command menu is registered per language."""

from __future__ import annotations

from bot.adapters.telegram.app import TelegramBot
from tests.fake_bot_api import FakeBotApi
from tests.telegram.conftest import TelegramUser

RECEIPT = "EAC2190000001"


async def test_language_code_es_mx_is_answered_in_spanish_and_en_us_in_english(
    fake_api: FakeBotApi, tg_bot: TelegramBot
) -> None:
    spanish, english = TelegramUser(fake_api, 3101), TelegramUser(fake_api, 3102)
    fake_api.language_codes[spanish.id] = "es-MX"
    fake_api.language_codes[english.id] = "en-US"

    (menu,) = await spanish.send("/start")
    assert menu.text.startswith("Hola, soy Tierline")
    assert "¿Qué desea hacer?" in menu.text
    assert ("Hablar con una persona", "nav:agent") in menu.buttons
    (answer,) = await spanish.send(RECEIPT)
    assert "Qué significa:" in answer.text and "Próximo paso:" in answer.text
    assert "What it means" not in answer.text

    (menu,) = await english.send("/start")
    assert menu.text.startswith("Hello, I'm Tierline")
    assert ("Talk to a person", "nav:agent") in menu.buttons

    # Spanish speakers see Spanish command descriptions; everyone else the English ones.
    assert fake_api.commands("es")["language"] == "Cambiar el idioma (English / Español)"
    assert fake_api.commands("")["menu"] == "Show the main menu"


async def test_language_switches_mid_flow_and_the_choice_outlives_the_language_code(
    fake_api: FakeBotApi, tg_bot: TelegramBot
) -> None:
    user = TelegramUser(fake_api, 3103)
    fake_api.language_codes[user.id] = "en-US"
    await user.send("/start")
    (ask,) = await user.tap("Check a case status")
    assert "Please type the receipt number" in ask.text

    # Mid-flow: the question is asked again in Spanish, with its buttons in Spanish.
    (switched,) = await user.send("/language es")
    assert "le atiendo en español" in switched.text
    assert "Escriba el número de recibo" in switched.text
    assert "Menú principal" in [label for label, _ in switched.buttons]

    # The stored choice wins over the en-US language_code of every later update.
    (answer,) = await user.send(RECEIPT)
    assert "Qué significa:" in answer.text

    # And back, with the menu item's buttons.
    (offer,) = await user.send("/language")
    assert ("English", "nav:language:en") in offer.buttons
    (back,) = await user.press(offer, "nav:language:en")
    assert "answer in English" in back.text
