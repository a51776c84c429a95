"""What Tier 1 settles on its own (`config/tier1_knowledge.toml`): knowledge-base topics,
the issues each resolves, and the issues that open a service request."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flows.triage import ISSUES


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
