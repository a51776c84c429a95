"""What a guard sees: the typed facts of one turn.

`Policy` bundles every rule set a deployer edits in `config/` (validated on load by the bot
layer, then handed in here as plain models). `Loaded` holds the data the bot layer fetched
for the step (each field is filled only when a step or route names it in `needs`). `Facts`
puts them together with the clock, the conversation's typed state and the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from msgspec import Struct, field
from msgspec.structs import replace

from flows.appointment_request import RequestTypes
from flows.biometrics import BiometricsRules
from flows.callback_slots import CallbackPolicy
from flows.callbacks import CallbackRecord
from flows.case_records import CaseRecord
from flows.case_status import StatusCatalogue
from flows.field_appointment import FieldOffices
from flows.handoff import Handoff, LiveChatPolicy
from flows.inperson_decision import InPersonPolicy
from flows.knowledge import Knowledge
from flows.live_hours import LiveHours
from flows.my_requests import MyItem
from flows.self_service import SelfService
from flows.state import ConversationState
from flows.steps import Answer


class Tier2Numbers(Struct, frozen=True):
    """Tier 2 numbers that are not slot rules: reminders, attempts, the visit lead."""

    slots_per_page: int = 4  # no longer used: times are chosen by day (kept for settings)
    reminder_business_days: int = 1
    max_attempts: int = 2
    appointment_lead_business_days: int = 5


class Policy(Struct, frozen=True):
    """Every rule set from `config/`, as validated models."""

    statuses: StatusCatalogue
    biometrics: BiometricsRules
    requests: RequestTypes
    self_service: SelfService
    knowledge: Knowledge
    inperson: InPersonPolicy
    offices: FieldOffices
    callbacks: CallbackPolicy
    live_hours: LiveHours
    tier2: Tier2Numbers = Tier2Numbers()
    live_chat: LiveChatPolicy = field(default_factory=LiveChatPolicy)


class Loaded(Struct):
    """Data the bot layer loads for a step, by the name a step gives in `needs`.

    A field is None until loaded. Each loader fills exactly its own field(s).
    """

    case: CaseRecord | None = None  # "case": the case of the receipt in the answer or state
    case_unavailable: bool = False  # the case source could not answer
    # "biometrics_bookings": bookings per slot time at the conversation's chosen support
    # center, from now on (what is free is decided in `flows.biometrics`).
    biometrics_booked: dict[datetime, int] | None = None
    # Tier 1 / Tier 2 (bot/actions/tier1.py, tier2.py)
    case_on_file: CaseRecord | None = None  # "case_on_file": the case of `state.receipt`
    slot_counts: Mapping[datetime, int] | None = None  # "callback_counts": booked per slot
    slot_booked: int | None = None  # "slot_room": callbacks at the draft's slot
    my_requests: tuple[MyItem, ...] = ()  # "my_requests": everything the applicant has
    picked_callback: CallbackRecord | None = None  # "picked_callback": by the answer's ref
    # Live operator chat (bot/actions/live_chat.py)
    handoff: Handoff | None = None  # "handoff": the queue entry of `state.live_chat`
    handoff_ahead: int | None = None  # "handoff": entries waiting before it (or all, "queue")


NO_ANSWER = Answer("")


class Facts(Struct):
    now: datetime
    state: ConversationState
    policy: Policy
    current: str  # the state the conversation is in
    answer: Answer = NO_ANSWER
    loaded: Loaded = field(default_factory=Loaded)
    # Whether the shared machine allows `trigger` from the current state.
    allows: Callable[[str], bool] = lambda _trigger: False
    # The steps this flow went through before the current one, oldest first: where Back
    # returns (kept by the engine with `flows.machine.MachineDefinition.trail_after`).
    trail: tuple[str, ...] = ()

    def but(self, **changes: Any) -> Facts:
        return replace(self, **changes)
