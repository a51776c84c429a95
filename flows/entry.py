"""The way in: the main menu, the commands that work in every state (/start, /menu, /help,
/cancel, /agent, /finish), the end of a conversation, and the hand-over to Tier 1 that every
tier below it shares.

`tier1.intake` is the contract between the tiers: whatever the automated tier cannot
settle, or a person who asks for one, is sent there with the reason recorded. Each tier adds
its entries to the main menu (`MenuItem`); `with_menu` puts them on the menu step.
"""

from __future__ import annotations

from enum import StrEnum

from msgspec import Struct
from msgspec.structs import replace

from flows.facts import Facts
from flows.state import EMPTY
from flows.steps import (
    AGENT,
    Command,
    Decision,
    Route,
    Step,
    Tier,
    choice,
    decide,
    refuse,
    route,
    say,
    shown,
    stay,
)
from flows.steps import (
    MENU as MENU_BUTTON,
)

INITIAL = "automated.menu"
MENU = "automated.menu"
TIER1_INTAKE = "tier1.intake"
CLOSED = "closed"
GO = "go"  # the kind of a menu item's button: go:<trigger>


class EntryRule(StrEnum):
    STARTED = "entry.started"
    MENU = "entry.menu_asked"
    HELP = "entry.help"
    CANCELLED = "entry.cancelled"
    NOTHING_TO_CANCEL = "entry.nothing_to_cancel"
    ASKED_FOR_PERSON = "entry.asked_for_person"
    ALREADY_WITH_PERSON = "entry.already_with_person"
    FINISHED = "entry.finished"
    ALREADY_CLOSED = "entry.already_closed"
    MENU_ITEM = "entry.menu_item"
    CAME_BACK = "entry.came_back"
    NOT_UNDERSTOOD = "entry.not_understood"
    LANGUAGE_OFFERED = "entry.language_offered"
    LANGUAGE_CHOSEN = "entry.language_chosen"


# The languages offered by /language and the menu's Language item, by code; the button of
# each is `language.choice.<code>` in the catalogue. bot/languages.py LANGUAGES must name
# the same codes (tests/test_languages.py checks it).
LANGUAGES = ("en", "es")
LANGUAGE = "nav:language"  # a language button: nav:language:<code>
# What may follow /language, by the code it names.
LANGUAGE_NAMES = {
    "en": "en",
    "english": "en",
    "ingles": "en",
    "inglés": "en",
    "es": "es",
    "spanish": "es",
    "espanol": "es",
    "español": "es",
}


class MenuItem(Struct, frozen=True):
    """An entry a tier adds to the main menu: its button and where it leads."""

    trigger: str
    dest: str
    label: str  # message key
    doc: str


# ---- commands ---------------------------------------------------------------------------------


def _started(f: Facts) -> Decision:
    return decide(EntryRule.STARTED, say("welcome.greeting"))


def _help(f: Facts) -> Decision:
    """Help answers in place: the engine asks the step's question again after it."""
    return decide(EntryRule.HELP, say("help.text"))


def _nothing_to_cancel(f: Facts) -> Decision | None:
    if f.current != MENU:
        return None
    return refuse(EntryRule.NOTHING_TO_CANCEL, "cancel.nothing")


def _cancelled(f: Facts) -> Decision:
    return decide(EntryRule.CANCELLED, say("cancel.done"), state=EMPTY)


def _already_with_person(f: Facts) -> Decision | None:
    if f.current.startswith("automated.") or f.current == CLOSED:
        return None
    return refuse(EntryRule.ALREADY_WITH_PERSON, "agent.already_with_person")


def _asked_for_person(f: Facts) -> Decision:
    return decide(
        EntryRule.ASKED_FOR_PERSON,
        state=f.state.but(escalation_reason=str(EntryRule.ASKED_FOR_PERSON)),
    )


def _already_closed(f: Facts) -> Decision | None:
    if f.current != CLOSED:
        return None
    return refuse(EntryRule.ALREADY_CLOSED, "closed.already")


def _finished(f: Facts) -> Decision:
    return decide(EntryRule.FINISHED, state=EMPTY)


def _language(f: Facts) -> Decision:
    """/language CODE switches (the step's question is then asked again in the new
    language); /language alone offers the languages as buttons."""
    code = LANGUAGE_NAMES.get(f.answer.arg.lower()) if f.answer.args else None
    if code is None:
        return decide(
            EntryRule.LANGUAGE_OFFERED,
            say(
                "language.offer", *(choice(LANGUAGE, f"language.choice.{c}", c) for c in LANGUAGES)
            ),
        )
    return decide(
        EntryRule.LANGUAGE_CHOSEN, say("language.switched"), state=f.state.but(language=code)
    )


COMMANDS = (
    Command(
        "start",
        (route("start", MENU, _started, "The applicant sent /start."),),
        "Start again at the main menu.",
    ),
    Command(
        "menu",
        (
            route(
                "menu",
                MENU,
                lambda f: decide(EntryRule.MENU),
                "The applicant asked for the main menu.",
            ),
        ),
        "Show the main menu.",
    ),
    Command("help", (stay(_help, "What the assistant can do."),), "What the assistant can do."),
    Command(
        "cancel",
        (
            stay(_nothing_to_cancel, "At the main menu there is nothing to cancel."),
            route("cancel", MENU, _cancelled, "The applicant cancelled what they were doing."),
        ),
        "Stop what you are doing; nothing of it is kept.",
    ),
    Command(
        "agent",
        (
            stay(_already_with_person, "Already with the staff tiers."),
            route(
                "escalate",
                TIER1_INTAKE,
                _asked_for_person,
                "The applicant asked to talk to a person, or the automated tier could not"
                " settle the request.",
            ),
        ),
        "Ask for a person.",
    ),
    Command(
        "language",
        (stay(_language, "Switch the language, or offer the languages spoken."),),
        'Change the language: /language es, /language en ("hablo español" is read as this).',
    ),
    Command(
        "finish",
        (
            stay(_already_closed, "The conversation has already ended."),
            route("finish", CLOSED, _finished, "The conversation came to an end."),
        ),
        "End the conversation.",
    ),
)


# ---- the menu and the end ---------------------------------------------------------------------


def _menu_step(items: tuple[MenuItem, ...]) -> Step:
    # Every item's route leaves the menu, so the menu always offers all of them.
    menu = shown(
        say("menu.prompt"),
        choices=[
            *(choice(GO, i.label, i.trigger) for i in items),
            choice(AGENT.kind, "menu.item_agent"),
            choice(LANGUAGE, "menu.item_language"),
        ],
    )

    def chose(item: MenuItem) -> Route:
        def when(f: Facts) -> Decision | None:
            return (
                decide(EntryRule.MENU_ITEM)
                if f.answer.kind == GO and f.answer.arg == item.trigger
                else None
            )

        return route(item.trigger, item.dest, when, item.doc)

    return Step(
        MENU,
        "Main menu of the automated tier, available at all hours.",
        show=menu,
        routes=tuple(chose(i) for i in items),
        kinds=(GO,),
    )


def _came_back(f: Facts) -> Decision | None:
    if f.answer.kind != "text":
        return None
    return decide(EntryRule.CAME_BACK, say("welcome.back"))


CLOSED_STEP = Step(
    CLOSED,
    "The conversation is over; any message starts a new one.",
    show=shown(say("closed.goodbye"), choices=[MENU_BUTTON]),
    parse=lambda text, f: f.answer,
    routes=(route("start", MENU, _came_back, "A new message after the end starts again."),),
)


def _not_understood(f: Facts) -> Decision:
    """Text nothing could read: said so; the engine asks the step's question again with
    its choices, so the way on is right there."""
    if f.current.startswith("automated."):
        return refuse(EntryRule.NOT_UNDERSTOOD, "fallback.not_understood")
    return refuse(EntryRule.NOT_UNDERSTOOD, "fallback.use_buttons")


TIER = Tier(
    name="entry",
    steps=(_menu_step(()), CLOSED_STEP),
    intercept_prefix="",
    commands=COMMANDS,
    fallback=_not_understood,
)


def with_commands(entry: Tier, *commands: Command) -> Tier:
    """The entry tier with `commands` added (those derived from all tiers: /back)."""
    return replace(entry, commands=(*entry.commands, *commands))


def with_menu(entry: Tier, items: tuple[MenuItem, ...]) -> Tier:
    """The entry tier with the tiers' menu items on its menu step."""
    steps = tuple(_menu_step(items) if s.state == MENU else s for s in entry.steps)
    return replace(entry, steps=steps)
