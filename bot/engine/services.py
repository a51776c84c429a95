"""The long-lived things a turn needs, built once per process and shared by all turns."""

from __future__ import annotations

from msgspec import Struct
from transitions import Machine

from bot.clock import Clock
from bot.config import Settings
from bot.engine.program import Program
from bot.messages import Catalogue
from bot.storage.ports import Ports
from flows.facts import Policy
from flows.machine import MachineDefinition


class Services(Struct, frozen=True):
    settings: Settings
    messages: Catalogue
    ports: Ports
    clock: Clock
    definition: MachineDefinition
    machine: Machine
    program: Program
    policy: Policy
    # `flows.machine.plain_moves(machine)`: how a trigger moves a conversation when the
    # machine runs no callbacks (None: fire through the machine)
    moves: dict[tuple[str, str], str] | None = None
