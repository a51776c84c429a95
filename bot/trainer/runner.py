"""Runs one scenario end to end on a fresh temporary database with a fixed clock.

Each step is played through a driver (the engine in this process, or `tierline console
--jsonl` in a subprocess), then its expectations are checked and a `StepReport` says what
was expected and what came. The run stops at the first failing step: what follows would
only repeat the same difference. Transitions are read back from the run's transition
log, so the report knows every transition that fired, whoever fired it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Literal

from msgspec import Struct, field

from bot.assembly import create_engine
from bot.clock import FixedClock
from bot.config import load_settings
from bot.engine.engine import Engine
from bot.model import Button, TurnResult
from bot.storage.database import Database, Write
from bot.storage.ports import Cases
from bot.trainer.drivers import (
    Driver,
    DriverError,
    EngineDriver,
    JsonlConsole,
    JsonlDriver,
)
from bot.trainer.scenario import CaseRow, Expect, OperatorAction, Scenario, Step
from flows.machine import tier_of

Via = Literal["engine", "jsonl", "telegram"]


class LoggedTransition(Struct, frozen=True):
    """A row of the transition log."""

    user_id: str
    trigger: str
    source: str
    dest: str
    rule: str  # the rule id, then what the route is for in brackets (checks may name either)
    rule_id: str = ""
    why: str = ""  # what the route is for, in plain words, as declared with it


class StepReport(Struct):
    index: int  # 0-based
    step: Step
    line: int | None
    result: TurnResult | None = None  # input steps
    state: str | None = None  # where the step's applicant stands after the step
    transitions: list[LoggedTransition] = field(default_factory=list)
    summary: str | None = None  # staff steps: the desk's summary
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def title(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"step {self.index + 1}{where}: {self.step.describe()}"


class ScenarioReport(Struct):
    scenario: Scenario
    steps: list[StepReport] = field(default_factory=list)
    fired: set[tuple[str, str]] = field(default_factory=set)
    error: str | None = None  # the run could not be set up or broke outside a step

    @property
    def passed(self) -> bool:
        return self.error is None and all(s.passed for s in self.steps)

    @property
    def failed_step(self) -> StepReport | None:
        return next((s for s in self.steps if not s.passed), None)


OnStep = Callable[[StepReport], Awaitable[None]]


async def run_scenario(
    scenario: Scenario,
    *,
    via: Via = "engine",
    on_step: OnStep | None = None,
    console: JsonlConsole | None = None,
    database: Path | str | None = None,
) -> ScenarioReport:
    """Play `scenario` on a fresh database; `on_step` sees each step as it completes.
    With `via="jsonl"`, `console` is a console process a run shares between scenarios
    (one of its own otherwise). `database`: an empty database to play on (a SQLite file
    or a PostgreSQL URL) instead of a temporary SQLite file."""
    report = ScenarioReport(scenario)
    with tempfile.TemporaryDirectory(prefix="tierline-scenario-") as tmp:
        workdir = Path(tmp)
        db_path = database if database is not None else workdir / "scenario.db"
        settings = load_settings(db_path=db_path, load_demo_cases=False)
        clock = FixedClock(scenario.now, settings.tz)
        db = await Database.open(db_path)
        try:
            engine = await create_engine(settings, db, clock)
            ports = engine.services.ports
            await db.commit(case_writes(ports.cases, scenario.cases, clock.now()))
            driver: Driver
            if via == "jsonl":
                driver = JsonlDriver(engine, db_path, scenario.language, console)
            elif via == "telegram":
                from bot.assembly import telegram_replay_driver

                driver = telegram_replay_driver(engine, settings, scenario.language)
            else:
                driver = EngineDriver(engine, scenario.language)
            try:
                await _play(scenario, engine, clock, driver, report, on_step)
            except DriverError as exc:
                report.error = str(exc)
            finally:
                await driver.close()
            logged = await ports.transcript.transitions_since(0)
            report.fired = {(str(r["trigger"]), str(r["source"])) for r in logged}
        finally:
            await db.close()
    return report


def case_writes(port: Cases, cases: list[CaseRow], now: datetime) -> list[Write]:
    """The rows of `cases` as the case import stores them (same parsing, same statement)."""
    from flows.case_records import parse_row

    writes = []
    for c in cases:
        row = {
            name: None if value is None else str(value)
            for name, value in c.model_dump(mode="json").items()
        }
        record = parse_row(row, now.tzinfo)  # type: ignore[arg-type]
        writes.append(port.upsert(record, now))
    return writes


async def _play(
    scenario: Scenario,
    engine: Engine,
    clock: FixedClock,
    driver: Driver,
    report: ScenarioReport,
    on_step: OnStep | None,
) -> None:
    last_id = 0
    for index, step in enumerate(scenario.steps):
        sr = StepReport(index, step, scenario.step_line(index))
        report.steps.append(sr)
        if step.kind == "clock":
            _move_clock(step, clock, sr)
        elif step.kind == "staff":
            if step.operator is not None:
                await _operator(step, engine, sr)
            else:
                await _staff(step, engine, sr, driver)
        else:
            await _input(step, driver, sr)
        rows = await engine.services.ports.transcript.transitions_since(last_id)
        if rows:
            last_id = int(str(rows[-1]["id"]))
        sr.transitions = [_logged(engine, r) for r in rows]
        if step.kind != "clock":
            if sr.state is None and not sr.failures:
                sr.state = await engine.state_of(driver.key(step.user))
            if step.expect is not None and not sr.failures:
                sr.failures.extend(check(step.expect, sr))
        if on_step is not None:
            await on_step(sr)
        if sr.failures:
            return


def _logged(engine: Engine, row: dict[str, object]) -> LoggedTransition:
    """A logged transition, its rule id followed by what the transition is for (the words
    declared with its route), so a trainer's `rule_contains` may name either."""
    trigger, source, rule = str(row["trigger"]), str(row["source"]), str(row["rule"])
    spec = engine.services.definition.transition_for(trigger, source)
    words = spec.rule if spec is not None and spec.rule else ""
    why = f" ({words})" if words else ""
    return LoggedTransition(
        str(row["user_id"]), trigger, source, str(row["dest"]), rule + why, rule, words
    )


def _move_clock(step: Step, clock: FixedClock, sr: StepReport) -> None:
    if step.advance is not None:
        if step.advance.total_seconds() <= 0:
            sr.failures.append("`advance` must move the clock forward")
            return
        clock.advance(step.advance)
        return
    assert step.at is not None
    before = clock.now()
    clock.set(step.at)
    if clock.now() < before:
        clock.set(before)
        sr.failures.append(f"the clock cannot go back: {step.at} is before {before}")


async def _input(step: Step, driver: Driver, sr: StepReport) -> None:
    if step.say is not None:
        sr.result = await driver.send(step.user, text=step.say)
    elif step.press_data is not None:
        sr.result = await driver.send(step.user, button=step.press_data)
    else:
        assert step.press is not None
        button, problem = find_button(driver.buttons(step.user), step.press)
        if button is None:
            sr.failures.append(problem)
            return
        sr.result = await driver.send(step.user, button=button.data)
    sr.state = sr.result.state


def find_button(offered: tuple[Button, ...], label: str) -> tuple[Button | None, str]:
    """The button labelled `label` (case-insensitive; else the one label containing it)."""
    wanted = label.casefold()
    exact = [b for b in offered if b.label.casefold() == wanted]
    if exact:
        return exact[0], ""
    partial = [b for b in offered if wanted in b.label.casefold()]
    if len(partial) == 1:
        return partial[0], ""
    labels = [b.label for b in offered]
    if partial:
        return None, f"button {label!r} is ambiguous; offered {labels}"
    return None, f"no button labelled {label!r} in the last replies; offered {labels}"


async def _staff(step: Step, engine: Engine, sr: StepReport, driver: Driver) -> None:
    action = step.staff
    assert action is not None
    try:
        from bot.staff.desk import DeskError, StaffDesk
    except ImportError:
        sr.failures.append(
            "staff steps need the staff desk (bot.staff.desk), which this "
            "build of Tierline does not have"
        )
        return
    desk = StaffDesk.of(engine.services)
    reference = action.complete
    if reference == "last":
        references = await desk.references_for(driver.key(step.user))
        if not references:
            sr.failures.append(f"applicant {step.user!r} has no open reference to complete")
            return
        reference = references[0]
    try:
        completion = await desk.complete(
            reference, action.outcome, action.note, action.staff_id, engine.now()
        )
    except DeskError as exc:
        sr.failures.append(f"the staff desk refused: {exc}")
        return
    sr.summary = str(completion.summary)


async def _operator(step: Step, engine: Engine, sr: StepReport) -> None:
    """A Tier 1 operator's action in a live chat, through the live desk."""
    from bot.staff.live import LiveChatError

    assert step.operator is not None
    try:
        sr.summary = await operator_acts(engine, step.operator)
    except LiveChatError as exc:
        sr.failures.append(f"the live desk refused: {exc}")


async def operator_acts(engine: Engine, action: OperatorAction) -> str:
    """Play a scenario's operator action on the live desk (as `tierline staff chat` does):
    what happened, in a few words; `LiveChatError` when the desk refuses."""
    from bot.staff.live import LiveChatError, LiveDesk

    desk, now, staff = LiveDesk(engine), engine.now(), action.staff_id
    if action.pick is not None:
        reference = action.pick
        if reference == "last":
            waiting = await desk.waiting(now)
            if not waiting:
                raise LiveChatError("no live chat is waiting for an operator")
            reference = waiting[-1].reference
        picked = await desk.pick(reference, staff, now)
        return f"{picked.entry.reference} picked up as {picked.name}"
    current = await desk.current(staff)
    if current is None:
        raise LiveChatError(f"operator {staff!r} has no live chat")
    if action.say is not None:
        await desk.say(current.reference, staff, action.say, now)
        return f"sent to {current.reference}"
    if action.back:
        return str(await desk.hand_back(current.reference, staff, now))
    return str(await desk.resolve(current.reference, staff, action.resolve or "", now))


def check(expect: Expect, sr: StepReport) -> list[str]:
    """The differences between what `expect` asks and what the step produced."""
    failures: list[str] = []
    if expect.state is not None and sr.state != expect.state:
        failures.append(f"expected state {expect.state} got {sr.state}")
    if expect.tier is not None:
        tier = sr.result.tier if sr.result else (tier_of(sr.state) if sr.state else None)
        if tier != expect.tier:
            failures.append(f"expected tier {expect.tier} got {tier}")
    if sr.result is not None:
        texts = [r.text for r in sr.result.replies]
        joined = "\n".join(texts).casefold()
        for wanted in expect.reply_contains:
            if wanted.casefold() not in joined:
                failures.append(f"expected a reply containing {wanted!r}, got: {_quote_all(texts)}")
        for unwanted in expect.reply_not_contains:
            if unwanted.casefold() in joined:
                failures.append(
                    f"expected no reply containing {unwanted!r}, got: {_quote_all(texts)}"
                )
        labels = [b.label for r in sr.result.replies for b in r.buttons]
        offered = {label.casefold() for label in labels}
        missing = [b for b in expect.buttons if b.casefold() not in offered]
        if missing:
            failures.append(f"expected buttons {expect.buttons} offered {labels}")
        if expect.no_buttons and labels:
            failures.append(f"expected no buttons, offered {labels}")
    if expect.rule_contains is not None:
        rules = [t.rule for t in sr.transitions]
        if not any(expect.rule_contains.casefold() in r.casefold() for r in rules):
            fired = "; ".join(f"{t.trigger}: {t.rule}" for t in sr.transitions) or "none"
            failures.append(
                f"expected a transition whose rule contains "
                f"{expect.rule_contains!r}, fired: {fired}"
            )
    if expect.summary_contains is not None and (
        sr.summary is None or expect.summary_contains.casefold() not in sr.summary.casefold()
    ):
        failures.append(
            f"expected a staff summary containing {expect.summary_contains!r}, got: {sr.summary!r}"
        )
    return failures


def _quote_all(texts: list[str]) -> str:
    return " | ".join(json.dumps(t, ensure_ascii=False) for t in texts) if texts else "(no reply)"
