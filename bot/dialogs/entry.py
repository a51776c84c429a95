"""The way in: /start, /menu, /help, /cancel, /agent, the main menu and a closed
conversation. Tier modules add their menu entries by declaring transitions from the menu
(see `MENU_ITEMS`): the menu shows an item only when the machine allows its trigger."""

from __future__ import annotations

from bot.engine.dialogs import registry as dialogs
from bot.engine.turn import Turn
from bot.model import Button
from flows import entry

GO = "go:"  # button data "go:<trigger>" fires that trigger from the menu

# (trigger fired from the menu, label key) in the order the menu shows them.
MENU_ITEMS: tuple[tuple[str, str], ...] = (
    ("status", "menu.item_status"),
    ("biometrics", "menu.item_biometrics"),
    ("appointment", "menu.item_appointment"),
    ("callback", "menu.item_callback"),
    ("info", "menu.item_info"),
)


@dialogs.command("start")
async def started(turn: Turn) -> bool:
    turn.say("welcome.greeting")
    await turn.fire("start")
    return True


@dialogs.command("menu")
async def asked_for_menu(turn: Turn) -> bool:
    await turn.fire("menu")
    return True


@dialogs.command("help")
async def asked_for_help(turn: Turn) -> bool:
    turn.say("help.text", buttons=[turn.btn("buttons.menu", "nav:menu")])
    return True


@dialogs.command("cancel")
async def cancelled(turn: Turn) -> bool:
    if turn.state == entry.MENU:
        turn.reject("cancel.nothing")
        return True
    turn.say("cancel.done")
    turn.slots.clear()
    await turn.fire("cancel")
    return True


@dialogs.command("agent")
async def asked_for_person(turn: Turn) -> bool:
    if turn.tier != "automated" and turn.state != entry.CLOSED:
        turn.reject("agent.already_with_person")
        return True
    turn.slots["escalation_reason"] = "asked_for_person"
    await turn.fire("escalate", rule="The applicant asked to talk to a person.")
    return True


@dialogs.command("finish")
async def said_that_is_all(turn: Turn) -> bool:
    if turn.state == entry.CLOSED:
        turn.reject("closed.already")
        return True
    turn.slots.clear()
    await turn.fire("finish", rule="The applicant said that was all.")
    return True


def finish_button(turn: Turn) -> Button:
    """'That's all, thank you': offered where a conversation can naturally end."""
    return turn.btn("buttons.finish", "nav:finish")


@dialogs.on_enter(entry.MENU)
async def show_menu(turn: Turn) -> None:
    buttons = [
        turn.btn(label, GO + trigger) for trigger, label in MENU_ITEMS if turn.can_fire(trigger)
    ]
    buttons.append(turn.btn("menu.item_agent", "nav:agent"))
    turn.say("menu.prompt", buttons=buttons)


@dialogs.on_input(entry.MENU)
async def chose_from_menu(turn: Turn) -> bool:
    if turn.button and turn.button.startswith(GO):
        trigger = turn.button[len(GO) :]
        if turn.can_fire(trigger):
            await turn.fire(trigger, rule=f"The applicant chose '{trigger}' from the menu.")
            return True
    return False


@dialogs.on_enter(entry.CLOSED)
async def said_goodbye(turn: Turn) -> None:
    turn.say("closed.goodbye", buttons=[turn.btn("buttons.menu", "nav:menu")])


@dialogs.on_input(entry.CLOSED)
async def came_back(turn: Turn) -> bool:
    turn.say("welcome.back")
    await turn.fire("start", rule="A new message after the end starts a new conversation.")
    return True
