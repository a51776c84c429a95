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

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.config import ConfigError, load_model
from bot.messages import Catalogue
from flows.field_appointment import FieldOffices
from flows.inperson_decision import InPersonPolicy
from flows.triage import ISSUES

if TYPE_CHECKING:
    from bot.engine.services import Services

EXTRAS_KEY = "tiers.config"


class KnowledgeTopic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z_]+$")
    label: str
    answer: str
    issues: tuple[str, ...] = ()
    general: bool = False


class Knowledge(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    service_request_issues: tuple[str, ...] = ()
    topics: tuple[KnowledgeTopic, ...]

    @model_validator(mode="after")
    def _known_issues(self) -> Knowledge:
        for issue in self.service_request_issues:
            if issue not in ISSUES:
                raise ValueError(f"unknown issue {issue!r} (known: {', '.join(ISSUES)})")
        for topic in self.topics:
            for issue in topic.issues:
                if issue not in ISSUES:
                    raise ValueError(f"topic {topic.id}: unknown issue {issue!r}")
        return self

    def resolving(self) -> dict[str, str]:
        """Issue -> the topic that resolves it."""
        return {issue: t.id for t in self.topics for issue in t.issues}

    def topic(self, topic_id: str) -> KnowledgeTopic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def general_topics(self) -> list[KnowledgeTopic]:
        return [t for t in self.topics if t.general]


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
