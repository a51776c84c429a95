"""Narrate a scenario for a class: `tierline demo SCENARIO [--pace SECONDS]`.

Each step shows what the applicant (or the officer) did, the assistant's replies with
their buttons, the state change and the rule that fired, with the tier marked. Colour is
used only when standard output is a terminal and NO_COLOR is not set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from flows.machine import tier_of

if TYPE_CHECKING:
    from bot.trainer.runner import ScenarioReport, StepReport
    from bot.trainer.scenario import Scenario

TIER_BADGES = {
    "automated": ("AUTOMATED", "46"),  # cyan
    "tier1": ("TIER 1 OPERATOR", "43"),  # yellow
    "tier2": ("TIER 2 OFFICER", "45"),  # magenta
    "closed": ("CLOSED", "47"),  # grey
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, metavar="SCENARIO", help="a scenario file")
    parser.add_argument(
        "--pace",
        type=float,
        default=1.5,
        metavar="SECONDS",
        help="pause after each step (default: 1.5; 0 for none)",
    )


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from bot.trainer.runner import run_scenario
    from bot.trainer.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"tierline: error: {exc}", file=sys.stderr)
        return 2
    narrator = Narrator(sys.stdout, colour=use_colour(sys.stdout), pace=max(args.pace, 0))
    narrator.opening(scenario)
    report = await run_scenario(scenario, on_step=narrator.step)
    narrator.closing(report)
    return 0 if report.passed else 1


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


class Narrator:
    def __init__(self, out: TextIO, *, colour: bool, pace: float) -> None:
        self.out = out
        self.colour = colour
        self.pace = pace
        self._states: dict[str, str] = {}
        self._initial = ""

    def _c(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def _say(self, line: str = "") -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def badge(self, tier: str) -> str:
        name, bg = TIER_BADGES.get(tier, (tier.upper(), "47"))
        return self._c(f"1;30;{bg}", f" {name} ") if self.colour else f"[{name}]"

    def opening(self, scenario: Scenario) -> None:
        from flows.tiers import definition

        self._say(self._c("1", f"Scenario: {scenario.name}"))
        if scenario.description:
            self._say(scenario.description.strip())
        self._say(self._c("2", f"clock: {scenario.now:%A %d %B %Y, %H:%M}"))
        self._initial = definition().initial
        self._say()

    async def step(self, sr: StepReport) -> None:
        step = sr.step
        if step.kind == "clock":
            self._say(self._c("2", f"⏱  {step.describe()}"))
        elif step.kind == "staff":
            self._say(f"{self._c('1;35', 'officer')} ▸ {step.describe()}")
            if sr.summary:
                self._say(f"   {sr.summary}")
        else:
            who = step.user
            pressed = step.press or step.press_data
            shown = step.say if step.say is not None else f"[presses {pressed}]"
            self._say(f"{self._c('1;34', who)} ▸ {shown}")
            if sr.result is not None:
                for reply in sr.result.replies:
                    self._say(f"{self.badge(sr.result.tier)} {reply.text}")
                    for button in reply.buttons:
                        self._say(f"      {self._c('36', '▢ ' + button.label)}")
        if step.kind != "clock":
            before = self._states.get(step.user, self._initial)
            after = sr.state or before
            if sr.transitions:
                for t in sr.transitions:
                    self._say(self._c("2", f"   {t.source} --{t.trigger}--> {t.dest}"))
                    self._say(self._c("33", f"   rule: {t.rule}"))
            elif sr.passed:
                self._say(self._c("2", f"   state unchanged: {after}"))
            if tier_of(after) != tier_of(before):
                self._say(f"   tier: {self.badge(tier_of(before))} → {self.badge(tier_of(after))}")
            self._states[step.user] = after
        for failure in sr.failures:
            self._say(self._c("1;31", f"   ✗ {failure}"))
        self._say()
        if self.pace:
            await asyncio.sleep(self.pace)

    def closing(self, report: ScenarioReport) -> None:
        if report.error:
            self._say(self._c("1;31", f"✗ {report.error}"))
        if report.passed:
            self._say(self._c("1;32", "✓ the conversation went as the scenario says"))
        else:
            self._say(self._c("1;31", "✗ the conversation did not go as the scenario says"))
