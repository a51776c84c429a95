"""Narrate a scenario for a class: `tierline demo SCENARIO [--pace SECONDS | --step]`.

SCENARIO is a file, or the name of a shipped scenario (`tierline demo --list` shows them:
its file name without `.yaml`, or words of its title). Each step shows what the applicant
(or the officer) did, the assistant's answer marked with the tier that gave it, the state
change, and the rule that fired in plain words with its id after. `--step` waits for
Enter before going on (q then Enter stops). Colour is used only when standard output is a
terminal and NO_COLOR is not set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from flows.machine import tier_of

if TYPE_CHECKING:
    from bot.trainer.runner import LoggedTransition, ScenarioReport, StepReport
    from bot.trainer.scenario import Scenario

TIER_BADGES = {
    "automated": ("AUTOMATED", "46"),  # cyan
    "tier1": ("TIER 1 OPERATOR", "43"),  # yellow
    "tier2": ("TIER 2 OFFICER", "45"),  # magenta
    "closed": ("CLOSED", "47"),  # grey
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario",
        nargs="?",
        metavar="SCENARIO",
        help="a scenario file, or a shipped scenario's name (see --list)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the shipped scenarios and their names"
    )
    pacing = parser.add_mutually_exclusive_group()
    pacing.add_argument(
        "--pace",
        type=float,
        default=1.5,
        metavar="SECONDS",
        help="pause after each step (default: 1.5; 0 for none)",
    )
    pacing.add_argument(
        "--step", action="store_true", help="wait for Enter after each step (q to stop)"
    )


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


class StopDemo(Exception):
    """The trainer asked to stop (q at a --step pause)."""


async def _run(args: argparse.Namespace) -> int:
    from bot.trainer.runner import run_scenario
    from bot.trainer.scenario import ScenarioError, load_scenario

    if args.list:
        for name, title, language in shipped():
            suffix = f"  [{language}]" if language else ""
            print(f"{name:<48} {title}{suffix}")
        return 0
    if args.scenario is None:
        print("tierline: error: name a scenario (tierline demo --list shows them)", file=sys.stderr)
        return 2
    try:
        path = find_scenario(args.scenario)
        scenario = load_scenario(path)
    except (ScenarioError, LookupError) as exc:
        print(f"tierline: error: {exc}", file=sys.stderr)
        return 2
    narrator = Narrator(
        sys.stdout,
        colour=use_colour(sys.stdout),
        pace=0 if args.step else max(args.pace, 0),
        wait=_wait_for_enter if args.step else None,
    )
    narrator.opening(scenario)
    try:
        report = await run_scenario(scenario, on_step=narrator.step)
    except StopDemo:
        narrator.stopped()
        return 0
    narrator.closing(report)
    return 0 if report.passed else 1


def _scenario_dir() -> Path:
    from bot.config import config_dir

    return config_dir() / "scenarios"


def shipped() -> list[tuple[str, str, str]]:
    """(name, title, language) of each shipped scenario, by name."""
    from bot.trainer.scenario import ScenarioError, load_scenario

    out = []
    for path in sorted(_scenario_dir().glob("*.yaml")):
        try:
            scenario = load_scenario(path)
        except ScenarioError:
            continue  # `tierline scenarios run` reports a broken file; a list need not
        out.append((path.stem, scenario.name, scenario.language or ""))
    return out


def find_scenario(wanted: str) -> Path:
    """A path as given, else the shipped scenario of that name (its file name without
    `.yaml`), else the one whose name or title holds all of these words."""
    path = Path(wanted)
    if path.is_file():
        return path
    folder = _scenario_dir()
    exact = folder / f"{wanted.removesuffix('.yaml')}.yaml"
    if exact.is_file():
        return exact
    words = wanted.lower().split()
    matches = [
        name
        for name, title, _language in shipped()
        if all(w in f"{name} {title}".lower() for w in words)
    ]
    if len(matches) == 1:
        return folder / f"{matches[0]}.yaml"
    if not matches:
        raise LookupError(f"no scenario file or shipped scenario named {wanted!r} (see --list)")
    raise LookupError(
        f"{wanted!r} names {len(matches)} scenarios: {', '.join(matches)}; say which one"
    )


async def _wait_for_enter() -> None:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if line.strip().lower() in {"q", "quit"}:
        raise StopDemo


OUTCOME_WORDS = {
    "resolved": "settled on the phone",
    "appointment": "an in-person visit is justified, so a field-office appointment is booked",
    "biometrics": "a biometrics appointment is set",
    "refused": "the request is refused",
    "no-answer": "nobody answered",
}


def rule_line(t: LoggedTransition) -> str:
    """The rule in plain words, its id after: 'The applicant sent /start. [entry.started]'."""
    rule_id = t.rule_id or t.rule
    return f"{t.why} [{rule_id}]" if t.why else rule_id


def staff_steps(sr: StepReport) -> list[str]:
    """What the person at the desk does, step by step, and what came of it."""
    step = sr.step
    if step.operator is not None:
        lines = [step.operator.describe().removeprefix("operator ")]
    else:
        action = step.staff
        assert action is not None
        reference = (
            "the applicant's newest callback" if action.complete == "last" else action.complete
        )
        lines = [
            f"takes {reference} from the queue",
            "calls the applicant at the time they chose",
            f"records the outcome: {OUTCOME_WORDS.get(action.outcome, action.outcome)}"
            + (f' (note: "{action.note}")' if action.note else ""),
        ]
    if sr.summary:
        lines.append(sr.summary)
    if step.staff is not None and not sr.failures:
        lines.append("the applicant gets a message with the outcome (it waits in their chat)")
    return lines


def use_colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


class Narrator:
    def __init__(
        self,
        out: TextIO,
        *,
        colour: bool,
        pace: float,
        wait: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.out = out
        self.colour = colour
        self.pace = pace
        self.wait = wait
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

    def handover(self, source: str, dest: str) -> str:
        names = [TIER_BADGES.get(t, (t.upper(), "47"))[0] for t in (source, dest)]
        text = f"{names[0]} → {names[1]}"
        return self._c("1;30;47", f" {text} ") if self.colour else f"[{text}]"

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
        before = self._states.get(step.user, self._initial)
        if step.kind == "clock":
            self._say(self._c("2", f"⏱  {step.describe()}"))
        elif step.kind == "staff":
            self._staff(sr)
        else:
            who = step.user
            pressed = step.press or step.press_data
            shown = step.say if step.say is not None else f"[presses {pressed}]"
            self._say(f"{self._c('1;34', who)} ▸ {shown}")
            if sr.result is not None:
                # An answer that hands the applicant over is said by both tiers (one
                # message: Tier 1 explains why an officer will call, then the callback is
                # booked): marked as the handover, not as the tier it ends in.
                speaker = tier_of(sr.transitions[0].source) if sr.transitions else tier_of(before)
                ends = sr.result.tier
                label = self.badge(speaker) if ends == speaker else self.handover(speaker, ends)
                for reply in sr.result.replies:
                    self._say(f"{label} {reply.text}")
                    for button in reply.buttons:
                        self._say(f"      {self._c('36', '▢ ' + button.label)}")
        if step.kind != "clock":
            after = sr.state or before
            if sr.transitions:
                for t in sr.transitions:
                    self._say(self._c("2", f"   {t.source} --{t.trigger}--> {t.dest}"))
                    self._say(self._c("33", f"   rule: {rule_line(t)}"))
            elif sr.passed:
                self._say(self._c("2", f"   state unchanged: {after}"))
            if tier_of(after) != tier_of(before):
                self._say(f"   tier: {self.badge(tier_of(before))} → {self.badge(tier_of(after))}")
            self._states[step.user] = after
        for failure in sr.failures:
            self._say(self._c("1;31", f"   ✗ {failure}"))
        self._say()
        if self.wait is not None:
            self.out.write(self._c("2", "(Enter: next step, q: stop) "))
            self.out.flush()
            await self.wait()
        elif self.pace:
            await asyncio.sleep(self.pace)

    def _staff(self, sr: StepReport) -> None:
        """The officer's (or operator's) part, narrated as the steps a person takes."""
        step = sr.step
        who = self._c("1;35", "operator" if step.operator is not None else "officer")
        for number, line in enumerate(staff_steps(sr), 1):
            self._say(f"{who} {number}. {line}")

    def stopped(self) -> None:
        self._say()
        self._say(self._c("2", "(stopped)"))

    def closing(self, report: ScenarioReport) -> None:
        if report.error:
            self._say(self._c("1;31", f"✗ {report.error}"))
        if report.passed:
            self._say(self._c("1;32", "✓ the conversation went as the scenario says"))
        else:
            self._say(self._c("1;31", "✗ the conversation did not go as the scenario says"))
