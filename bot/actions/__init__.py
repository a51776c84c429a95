"""The bot layer's half of each tier: the loaders that fetch the facts a step `needs` and
the effects that stage a route's writes, through the storage ports. No rule lives here:
what to decide is declared in `flows/`; this package only reads and writes."""

from bot.engine.program import Actions


def all_actions() -> Actions:
    from bot.actions import automated, live_chat, tier1, tier2, watch

    return Actions.merge(
        [automated.ACTIONS, tier1.ACTIONS, tier2.ACTIONS, live_chat.ACTIONS, watch.ACTIONS]
    )
