"""The long-lived things a turn needs, built once per process and shared by all turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from transitions import Machine

from bot.clock import Clock
from bot.config import Settings
from bot.engine.dialogs import DialogRegistry
from bot.messages import Catalogue
from bot.storage.database import Database
from flows.machine import MachineDefinition


@dataclass
class Services:
    settings: Settings
    messages: Catalogue
    db: Database
    clock: Clock
    definition: MachineDefinition
    machine: Machine
    registry: DialogRegistry
    # Per-tier services (case status provider, policies, ...) by name, set up at start.
    extras: dict[str, Any] = field(default_factory=dict)
