"""What Tier 1 triages and settles on its own (`config/tier1_knowledge.toml`): the issues an
operator asks about, the knowledge-base topics and the issues each resolves, and the issues
that open a service request. A deployer adds an issue or a topic here, without code."""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Issue(BaseModel):
    """An issue the operator offers: its button label (a message key), whether it needs the
    in-person questions before it can be routed, whether it is an emergency, and whether
    it is urgent by itself (an officer's callback within the urgent window)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str = Field(pattern=r"^[a-z_]+$")
    label: str
    inperson: bool = False
    emergency: bool = False
    urgent: bool = False


class KnowledgeTopic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    id: str = Field(pattern=r"^[a-z_]+$")
    label: str
    answer: str
    issues: tuple[str, ...] = ()
    general: bool = False


class Knowledge(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    issues: tuple[Issue, ...] = Field(min_length=1)
    service_request_issues: tuple[str, ...] = ()
    topics: tuple[KnowledgeTopic, ...]

    @model_validator(mode="after")
    def _known_issues(self) -> Self:
        ids = [i.id for i in self.issues]
        if len(set(ids)) != len(ids):
            raise ValueError("issue ids must be unique")
        for issue in self.service_request_issues:
            if issue not in ids:
                raise ValueError(f"unknown issue {issue!r} (known: {', '.join(ids)})")
        for topic in self.topics:
            for issue in topic.issues:
                if issue not in ids:
                    raise ValueError(f"topic {topic.id}: unknown issue {issue!r}")
        return self

    def issue(self, issue_id: str) -> Issue | None:
        return next((i for i in self.issues if i.id == issue_id), None)

    def resolving(self) -> dict[str, str]:
        """Issue -> the topic that resolves it."""
        return {issue: t.id for t in self.topics for issue in t.issues}

    def topic(self, topic_id: str) -> KnowledgeTopic | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def general_topics(self) -> list[KnowledgeTopic]:
        return [t for t in self.topics if t.general]
