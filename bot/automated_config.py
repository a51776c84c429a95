"""The automated tier's configuration files, validated together when the engine starts:
the case-status catalogue, the biometrics rules and sites, the in-person request types and
the self-service answers. A bad file is refused with its name, the field and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.config import load_model
from flows.appointment_request import RequestTypes
from flows.biometrics import BiometricsRules
from flows.case_status import StatusCatalogue
from flows.self_service import SelfService


@dataclass(frozen=True)
class AutomatedConfig:
    statuses: StatusCatalogue
    biometrics: BiometricsRules
    requests: RequestTypes
    self_service: SelfService

    @classmethod
    def load(cls, directory: Path) -> AutomatedConfig:
        return cls(
            statuses=load_model(directory / "case_statuses.toml", StatusCatalogue),
            biometrics=load_model(directory / "biometrics.toml", BiometricsRules),
            requests=load_model(directory / "appointment_requests.toml", RequestTypes),
            self_service=load_model(directory / "self_service.toml", SelfService),
        )
