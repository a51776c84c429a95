"""Scenarios replayed through the real Telegram adapter (python-telegram-bot against the
fake Bot API on 127.0.0.1), and one transcript the same on every adapter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.trainer.runner import StepReport, run_scenario
from bot.trainer.scenario import load_scenario
from tests.conftest import ROOT

SHIPPED = sorted((ROOT / "config" / "scenarios").glob("*.yaml"))
# References are drawn at random for each booking: the same in every other respect.
REFERENCE = re.compile(r"\b[A-Z]{2,3}-[A-Z0-9]{6}\b")


async def test_every_shipped_scenario_passes_through_telegram() -> None:
    failed = []
    for path in SHIPPED:
        report = await run_scenario(load_scenario(path), via="telegram")
        if not report.passed:
            step = report.failed_step
            failed.append((path.name, report.error, step.failures if step else None))
    assert not failed, failed


async def transcript(path: Path, via: str) -> list[tuple[str, str | None, str]]:
    """(step, state, what the applicant read) for each step of the scenario."""
    seen: list[tuple[str, str | None, str]] = []

    async def keep(sr: StepReport) -> None:
        text = "\n".join(r.text for r in sr.result.replies) if sr.result else ""
        text = REFERENCE.sub("<reference>", text)
        seen.append((sr.step.describe(), sr.state, text))

    report = await run_scenario(load_scenario(path), via=via, on_step=keep)  # type: ignore[arg-type]
    assert report.passed, report.error or report.failed_step
    return seen


@pytest.mark.parametrize(
    "name", ["tier1-escalation-to-officer-callback", "es-automated-biometrics-reschedule"]
)
async def test_one_transcript_is_the_same_in_process_through_jsonl_and_telegram(name: str) -> None:
    path = ROOT / "config" / "scenarios" / f"{name}.yaml"
    in_process = await transcript(path, "engine")
    assert await transcript(path, "jsonl") == in_process
    assert await transcript(path, "telegram") == in_process
