"""Settings turned into the pure rules' policy objects (one place, so dialogs, the staff
desk and the simulated officer always schedule by the same numbers)."""

from __future__ import annotations

from bot.config import Settings
from flows.callback_slots import CallbackPolicy


def callback_policy(settings: Settings) -> CallbackPolicy:
    t2 = settings.tier2
    return CallbackPolicy(
        opens=t2.callback_opens,
        closes=t2.callback_closes,
        slot_minutes=t2.slot_minutes,
        capacity=t2.slot_capacity,
        urgent_hours=t2.urgent_hours,
        regular_business_days=t2.regular_business_days,
        min_notice_minutes=t2.min_notice_minutes,
    )
