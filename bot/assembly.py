"""Putting Tierline together: configuration, the tiers declared in `flows/`, the bot
layer's actions and the storage ports, handed to the engine (which imports none of them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.config import Settings
from bot.engine.engine import Engine
from bot.engine.program import Actions, Program
from bot.messages import Catalogue
from bot.policy import load_policy
from bot.storage.database import Database
from bot.storage.ports import sqlite_ports
from flows.steps import Tier

if TYPE_CHECKING:
    from bot.trainer.drivers import Driver


async def create_engine(
    settings: Settings,
    db: Database,
    clock: Clock,
    *,
    pull_notices: frozenset[str] = frozenset({"console"}),
    messages: Catalogue | None = None,
    extra: tuple[Tier, Actions] | None = None,
) -> Engine:
    """The engine for `settings` over `db`, with the demo cases loaded into an empty
    database when `load_demo_cases` is on. `extra` adds a tier of commands that stay in
    place (and the actions it names), for tests of the engine itself."""
    from bot.actions import all_actions
    from flows.tiers import DECLARATIONS, definition

    messages = (messages or Catalogue.load(settings.config_dir / "messages")).practising(
        settings.practice_mode
    )
    policy = load_policy(settings, messages)
    ports = sqlite_ports(db, settings.tz)
    if settings.case_source == "uscis":
        # Live data: a recent answer, then the USCIS Case Status API, then the imported
        # cases, behind the same case port (bot/cases/chain.py).
        from msgspec.structs import replace

        from bot.cases.chain import SqliteCases, uscis_chain

        assert isinstance(ports.cases, SqliteCases)
        ports = replace(
            ports, cases=uscis_chain(ports.cases, ports.live_cases, db, settings, clock.now)
        )
    if settings.load_demo_cases:
        from bot.cases.importer import load_demo_cases

        await load_demo_cases(
            ports.cases, db, settings.config_dir / "demo_cases.csv", settings.tz, clock.now()
        )
    actions = [all_actions(), *([extra[1]] if extra else [])]
    if settings.tier2.simulate_officer:
        # The simulated officer works through the staff desk, which the tiers' actions may
        # not import: it is added here, where both are known (and only when it is on).
        from bot.staff.officer import simulated_officer_calls

        actions.append(Actions(tickers=(simulated_officer_calls,)))
    return Engine.create(
        settings,
        ports,
        clock,
        program=Program(
            (*DECLARATIONS, extra[0]) if extra else DECLARATIONS, Actions.merge(actions)
        ),
        policy=policy,
        definition=definition(),
        messages=messages,
        pull_notices=pull_notices,
    )


def telegram_replay_driver(engine: Engine, settings: Settings, language: str | None) -> Driver:
    """A scenario driver through the real Telegram adapter against a fake Bot API on
    127.0.0.1 (`tierline scenarios run --via telegram`): put together here, where both
    the trainer and the adapter are known."""
    from bot.adapters.telegram.replay import TelegramDriver

    return TelegramDriver(engine, settings, language)
