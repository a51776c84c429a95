"""`config/` turned into the rules' `Policy`, validated once when the service starts.

Each rule file is validated by pydantic (`load_model`), and every message key a file names
must exist in the catalogue, so a typo is refused at start with the file, the field and the
reason, never found later as an apology in a conversation.
"""

from __future__ import annotations

from pathlib import Path

from bot.config import ConfigError, Settings, load_model
from bot.messages import Catalogue
from flows.appointment_request import RequestTypes
from flows.biometrics import BiometricsRules
from flows.callback_slots import CallbackPolicy
from flows.case_status import StatusCatalogue
from flows.facts import Policy, Tier2Numbers
from flows.field_appointment import FieldOffices
from flows.handoff import LiveChatPolicy, OperatorName
from flows.inperson_decision import InPersonPolicy
from flows.knowledge import Knowledge
from flows.live_hours import LiveHours
from flows.self_service import SelfService


def load_policy(settings: Settings, messages: Catalogue) -> Policy:
    directory = settings.config_dir
    knowledge_path = directory / "tier1_knowledge.toml"
    policy_path = directory / "inperson_policy.toml"
    knowledge = load_model(knowledge_path, Knowledge)
    inperson = load_model(policy_path, InPersonPolicy)
    for i, issue in enumerate(knowledge.issues):
        _require_key(messages, issue.label, knowledge_path, f"issues.{i}.label")
    for i, topic in enumerate(knowledge.topics):
        for field in ("label", "answer"):
            _require_key(messages, getattr(topic, field), knowledge_path, f"topics.{i}.{field}")
    for i, rule in enumerate(inperson.rules):
        _require_key(messages, rule.explanation, policy_path, f"rules.{i}.explanation")
        _require_key(
            messages, rule.missing_explanation, policy_path, f"rules.{i}.missing_explanation"
        )
        _require_key(messages, f"tier2.bring.{rule.category}", policy_path, f"rules.{i}.category")
        _require_key(
            messages, f"tier1.inperson.button.{rule.category}", policy_path, f"rules.{i}.category"
        )
    offices_path = directory / "field_offices.toml"
    offices = load_model(offices_path, FieldOffices)
    for i, office in enumerate(offices.offices):
        # An office without `timezone` takes its ZIP code's: looked up now, so that the
        # shipped file (every zone written out) costs start-up no ZIP code lookup.
        try:
            zone = office.zone_name
        except ValueError as exc:
            raise ConfigError(str(offices_path), f"offices.{i}.zip", str(exc)) from None
        _require_key(messages, f"time_zone.{zone}", offices_path, f"offices.{i}.timezone")
    return Policy(
        statuses=load_model(directory / "case_statuses.toml", StatusCatalogue),
        biometrics=load_model(directory / "biometrics.toml", BiometricsRules),
        requests=load_model(directory / "appointment_requests.toml", RequestTypes),
        self_service=load_model(directory / "self_service.toml", SelfService),
        knowledge=knowledge,
        inperson=inperson,
        offices=offices,
        callbacks=callback_policy(settings),
        live_hours=LiveHours(settings.tier1.live_opens, settings.tier1.live_closes),
        tier2=Tier2Numbers(
            slots_per_page=settings.tier2.slots_per_page,
            reminder_business_days=settings.tier2.reminder_business_days,
            max_attempts=settings.tier2.max_attempts,
            appointment_lead_business_days=settings.tier2.appointment_lead_business_days,
        ),
        live_chat=live_chat_policy(settings),
    )


def live_chat_policy(settings: Settings) -> LiveChatPolicy:
    t1 = settings.tier1
    return LiveChatPolicy(
        wait_minutes=t1.live_chat_wait_minutes,
        minutes_per_person=t1.live_chat_minutes_per_person,
        naming=t1.operator_naming,
        operators=tuple(OperatorName(o.staff, o.first_name, o.number) for o in t1.operators),
    )


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


def _require_key(messages: Catalogue, key: str, path: Path, field: str) -> None:
    if key not in messages:
        raise ConfigError(str(path), field, f"no message {key!r} in config/messages")
