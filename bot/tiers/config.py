"""The configuration of Tier 1 and Tier 2, loaded and validated once per process.

`config/tier1_knowledge.toml` (what Tier 1 settles itself), `config/inperson_policy.toml`
(when a visit is justified) and `config/field_offices.toml` (where visits happen). Each is
validated by pydantic, and every message key they name must exist in the catalogue, so a
typo is refused at start with the file, the field and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, load_model
from bot.messages import Catalogue
from flows.field_appointment import FieldOffices
from flows.inperson_decision import InPersonPolicy
from flows.knowledge import Knowledge

if TYPE_CHECKING:
    from bot.engine.services import Services

EXTRAS_KEY = "tiers.config"


@dataclass(frozen=True)
class TierConfig:
    knowledge: Knowledge
    policy: InPersonPolicy
    offices: FieldOffices


def load_tier_config(directory: Path, messages: Catalogue) -> TierConfig:
    knowledge_path = directory / "tier1_knowledge.toml"
    policy_path = directory / "inperson_policy.toml"
    knowledge = load_model(knowledge_path, Knowledge)
    policy = load_model(policy_path, InPersonPolicy)
    offices = load_model(directory / "field_offices.toml", FieldOffices)
    for i, topic in enumerate(knowledge.topics):
        for field in ("label", "answer"):
            _require_key(messages, getattr(topic, field), knowledge_path, f"topics.{i}.{field}")
    for i, rule in enumerate(policy.rules):
        _require_key(messages, rule.explanation, policy_path, f"rules.{i}.explanation")
        _require_key(
            messages, rule.missing_explanation, policy_path, f"rules.{i}.missing_explanation"
        )
        _require_key(messages, f"tier2.bring.{rule.category}", policy_path, f"rules.{i}.category")
    return TierConfig(knowledge, policy, offices)


def _require_key(messages: Catalogue, key: str, path: Path, field: str) -> None:
    if key not in messages:
        raise ConfigError(str(path), field, f"no message {key!r} in config/messages")


def tier_config(services: Services) -> TierConfig:
    """The loaded configuration, cached on the services for the life of the process."""
    config = services.extras.get(EXTRAS_KEY)
    if config is None:
        config = load_tier_config(services.settings.config_dir, services.messages)
        services.extras[EXTRAS_KEY] = config
    return config
