"""The tiers of Tierline, in the order their intercepts and fallbacks are tried, and the
one machine definition composed from them."""

from __future__ import annotations

from functools import cache

from transitions import Machine

from flows import automated, entry, tier1, tier1_live, tier2
from flows.machine import MachineDefinition, back_command, build_machine
from flows.steps import Tier

# The main menu's order, by trigger (items a tier adds that are not listed come last).
MENU_ORDER = ("status", "biometrics", "appointment", "callback", "info")


def _compose(*tiers: Tier) -> tuple[Tier, ...]:
    items = sorted(
        (item for t in tiers for item in t.menu),
        key=lambda i: MENU_ORDER.index(i.trigger) if i.trigger in MENU_ORDER else len(MENU_ORDER),
    )
    composed = (*tiers, entry.with_menu(entry.TIER, tuple(items)))
    # Back is derived from every tier's routes, once, and is a command of the way in.
    back = back_command(composed, entry.INITIAL)
    return (*tiers, entry.with_commands(composed[-1], back))


DECLARATIONS: tuple[Tier, ...] = _compose(
    automated.TIER,
    # The live operator is offered where Tier 1 and Tier 2 show the assistant cannot settle
    # the matter (see `flows.tier1_live`).
    tier1_live.offering_live_chat(tier1.TIER),
    tier1_live.TIER,
    tier1_live.offering_live_chat(tier2.TIER),
)


@cache
def definition() -> MachineDefinition:
    """The composed definition of all tiers."""
    return MachineDefinition.from_tiers(DECLARATIONS, initial=entry.INITIAL)


def shared_machine() -> Machine:
    """The single `transitions.Machine` every conversation is driven by."""
    return build_machine(definition())
