"""Dialogs of the automated tier (registered on import).

This module sets the tier up (configuration, case provider, demo cases), answers what can
be typed anywhere in the tier (a receipt number, "that didn't help", "talk to a person")
and the self-service answers. Case status, biometrics rescheduling and the in-person
request each have their own module, imported here so they register too.
"""

from __future__ import annotations

import logging

from bot.automated_config import AutomatedConfig
from bot.cases.importer import load_demo_cases
from bot.cases.provider import LocalCaseProvider
from bot.dialogs import automated_appointment, automated_biometrics  # noqa: F401
from bot.dialogs.automated_common import config, escalate, pressed_common, way_out
from bot.dialogs.automated_status import answer_receipt
from bot.engine.dialogs import registry as dialogs
from bot.engine.services import Services
from bot.engine.turn import Turn
from bot.model import Button
from flows import automated as flow
from flows.receipts import looks_like_receipt

log = logging.getLogger(__name__)

TOPIC = "info:"


@dialogs.on_setup
async def set_up_automated_tier(services: Services) -> None:
    settings = services.settings
    services.extras["automated"] = AutomatedConfig.load(settings.config_dir)
    services.extras["cases"] = LocalCaseProvider(services.db, settings.tz)
    if settings.load_demo_cases:
        await load_demo_cases(
            services.db, settings.config_dir / "demo_cases.csv", settings.tz, services.clock.now()
        )


@dialogs.intercept("automated.")
async def typed_anywhere(turn: Turn) -> bool:
    """A receipt number, or a wish for a person, typed in any step of the tier."""
    text = turn.text or ""
    if config(turn).self_service.wants_person(text):
        turn.say("auto.passing_to_person")
        await escalate(
            turn,
            "automated.asked_for_person",
            "The applicant asked for a person, or said it didn't help.",
        )
        return True
    if looks_like_receipt(text):
        await answer_receipt(turn, text)
        return True
    return False


def _topic_buttons(turn: Turn) -> list[Button]:
    topics = config(turn).self_service.topics
    return [Button(t.label, TOPIC + t.id) for t in topics]


@dialogs.on_enter(flow.INFO)
async def show_topics(turn: Turn) -> None:
    turn.say("info.prompt", buttons=[*_topic_buttons(turn), turn.btn("buttons.menu", "nav:menu")])


@dialogs.on_input(flow.INFO)
async def chose_topic(turn: Turn) -> bool:
    data = turn.button or ""
    service = config(turn).self_service
    topic = service.topic(data[len(TOPIC) :]) if data.startswith(TOPIC) else None
    if topic is None:
        return await pressed_common(turn)
    turn.say(
        "info.answer", answer=service.answer(topic), buttons=[*_topic_buttons(turn), *way_out(turn)]
    )
    return True
