"""Scenario files: the shipped ones pass through the engine and through `console --jsonl`,
wrong expectations fail with a readable difference, bad files name the file and line, and
the shipped scenarios exercise the machine's declared transitions."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest

from bot.trainer.coverage import TransitionCoverage
from bot.trainer.runner import run_scenario
from bot.trainer.scenario import ScenarioError, load_scenario, parse_scenario
from flows.tiers import definition
from tests.conftest import ROOT, run_cli
from tests.pg_server import scenario_database

SHIPPED = sorted((ROOT / "config" / "scenarios").glob("*.yaml"))
MIN_COVERAGE = 0.90

BASE = """\
name: probe
now: 2026-11-23T10:00
steps:
  - say: /start
"""


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
async def test_shipped_scenario_passes_through_the_engine(path: Path) -> None:
    report = await run_scenario(load_scenario(path), database=scenario_database())
    assert report.passed, _why(report)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
async def test_shipped_scenario_passes_through_console_jsonl(path: Path) -> None:
    report = await run_scenario(load_scenario(path), via="jsonl", database=scenario_database())
    assert report.passed, _why(report)


async def test_shipped_scenarios_cover_the_declared_transitions() -> None:
    # Every declared edge counts: each one is fired by some dialog, so none is exempt.
    coverage = TransitionCoverage.of(definition())
    for path in SHIPPED:
        coverage.record(
            (await run_scenario(load_scenario(path), database=scenario_database())).fired
        )
    assert coverage.ratio >= MIN_COVERAGE, (
        f"{coverage.summary()}; never exercised: {coverage.missed}"
    )


def test_a_star_edge_counts_once_and_is_covered_from_any_source() -> None:
    coverage = TransitionCoverage.of(definition())
    assert coverage.declared.count(("start", "*")) == 1
    coverage.record({("start", "tier1.intake")})
    assert coverage.is_covered(("start", "*"))
    assert ("menu", "*") in coverage.missed


async def test_wrong_state_fails_with_expected_and_got() -> None:
    report = await run_scenario(
        parse_scenario(BASE + "    expect: {state: tier1.intake}\n"), database=scenario_database()
    )
    assert not report.passed
    step = report.failed_step
    assert step is not None and step.index == 0 and step.line == 4
    assert step.failures == ["expected state tier1.intake got automated.menu"]


async def test_wrong_reply_and_buttons_show_what_came() -> None:
    report = await run_scenario(
        parse_scenario(BASE + "    expect: {reply_contains: Goodbye, buttons: [Pay a fee]}\n"),
        database=scenario_database(),
    )
    failures = report.failed_step.failures  # type: ignore[union-attr]
    assert failures[0].startswith("expected a reply containing 'Goodbye', got: \"Hello, I'm")
    assert failures[1].startswith("expected buttons ['Pay a fee'] offered [")
    assert "'Check a case status'" in failures[1] and "'Talk to a person'" in failures[1]


async def test_pressing_a_label_nobody_offered_names_the_offered_buttons() -> None:
    report = await run_scenario(
        parse_scenario(BASE + "  - press: Pay a fee\n"), database=scenario_database()
    )
    step = report.failed_step
    assert step is not None and step.index == 1
    [failure] = step.failures
    assert failure.startswith("no button labelled 'Pay a fee' in the last replies; offered [")
    assert "'Talk to a person'" in failure


async def test_a_staff_step_with_nothing_to_complete_fails_clearly() -> None:
    report = await run_scenario(
        parse_scenario(BASE + "  - staff: {complete: last, outcome: resolved}\n"),
        database=scenario_database(),
    )
    step = report.failed_step
    assert step is not None and step.index == 1
    assert "no open" in step.failures[0].lower() or "nothing" in step.failures[0].lower()


async def test_clock_steps_move_the_clock_forward_only() -> None:
    report = await run_scenario(
        parse_scenario(BASE + "  - advance: 1d 2h\n  - at: 2026-11-20T10:00\n"),
        database=scenario_database(),
    )
    assert report.failed_step is not None and report.failed_step.index == 2
    assert "cannot go back" in report.failed_step.failures[0]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("name: x\nnow: [\n", 3, "not valid YAML"),
        ("name: x\nsteps:\n  - say: hi\n", 1, "now: Field required"),
        (BASE + "  - say: hi\n    press: Menu\n", 5, "steps.1: a step needs exactly one of"),
        (BASE + "    expect:\n      tier: tier9\n", 6, "steps.0.expect.tier"),
        (BASE + "  - advance: soon\n", 5, "not a duration"),
        (
            BASE + "cases:\n  - receipt_number: EAC123\n    form_type: I-485\n",
            6,
            "cases.0.receipt_number",
        ),
        (BASE + "  - advance: 1h\n    expect: {state: closed}\n", 5, "takes no `expect`"),
    ],
)
def test_yaml_errors_report_file_and_line(
    tmp_path: Path, text: str, line: int, reason: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}:{line}: "), str(caught.value)
    assert reason in str(caught.value)


def test_cases_are_validated_like_an_import() -> None:
    scenario = parse_scenario(
        BASE
        + """\
cases:
  - receipt_number: eac-219-000-0001
    form_type: I-485
    status_title: Case Was Received
    status_date: 2026-10-01
    zip_code: "02134"
"""
    )
    assert scenario.cases[0].receipt_number == "EAC2190000001"
    with pytest.raises(ScenarioError, match="write it in quotes"):
        parse_scenario(
            BASE
            + """\
cases:
  - {receipt_number: EAC2190000001, form_type: I-485, status_title: X,
     status_date: 2026-10-01, zip_code: 02134}
"""
        )


async def test_scenario_cases_are_in_the_database_before_the_first_step() -> None:
    scenario = parse_scenario(
        BASE
        + """\
cases:
  - {receipt_number: EAC2190000001, form_type: I-485, status_title: Case Was Received,
     status_date: 2026-10-01, biometrics_at: 2026-12-01T09:00}
"""
    )
    from bot.trainer import runner

    seen = {}

    async def look(sr: runner.StepReport) -> None:
        seen["ok"] = sr.passed

    report = await runner.run_scenario(scenario, on_step=look, database=scenario_database())
    assert report.passed and seen["ok"]
    from bot.storage.cases import SqliteCases

    # Only its writes are used: a database that keeps nothing and is never read.
    no_database = SimpleNamespace(keeps_rows=False, watch=lambda *args, **kwargs: None)
    cases = SqliteCases(no_database, scenario.now.astimezone().tzinfo)  # type: ignore[arg-type]
    writes = runner.case_writes(cases, scenario.cases, scenario.now.astimezone())
    assert writes[0].params[5].endswith("+00:00")  # stored in UTC like every instant


def test_cli_prints_pass_fail_coverage_and_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE + "    expect: {state: closed}\n")
    proc = run_cli("scenarios", "run", str(SHIPPED[0]), str(bad))
    out = proc.stdout.decode()
    assert proc.returncode == 1
    assert "PASS  " in out and f"FAIL  probe  ({bad})" in out
    assert "step 1 (line 4): say '/start'" in out
    assert "expected state closed got automated.menu" in out
    assert "transition coverage: " in out and "never exercised:" in out


def test_cli_json_report(tmp_path: Path) -> None:
    proc = run_cli("scenarios", "run", "--json", str(ROOT / "config" / "scenarios"))
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert report["failed"] == 0 and report["passed"] == len(SHIPPED)
    assert report["coverage"]["declared"] == len(TransitionCoverage.of(definition()).declared)


def test_cli_bad_file_is_reported_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: x\nnow: 2026-11-23T10:00\nsteps:\n  - sya: hi\n")
    proc = run_cli("scenarios", "run", str(bad))
    assert proc.returncode == 1
    assert f"ERROR {bad}:4: steps.0" in proc.stdout.decode()


def _why(report) -> str:  # type: ignore[no-untyped-def]
    if report.error:
        return report.error
    step = report.failed_step
    return f"{report.scenario.source}: {step.title}: {step.failures}"


class _FakeDesk:
    """A stand-in with the contract of `bot.staff.desk.StaffDesk` (written in parallel)."""

    calls: ClassVar[list[tuple[object, ...]]] = []

    def __init__(self, services: object) -> None:
        self.services = services

    @classmethod
    def of(cls, services: object) -> _FakeDesk:
        return cls(services)

    async def references_for(self, key: object) -> list[str]:
        return ["CB-0002", "CB-0001"] if getattr(key, "user_id", None) == "applicant" else []

    async def complete(
        self, reference: str, outcome: str, note: str, staff_id: str, now: object
    ) -> object:
        if not reference.startswith("CB-"):
            raise _FakeDeskError(f"no callback {reference}")
        _FakeDesk.calls.append((reference, outcome, note, staff_id, now))
        return type(
            "Completion",
            (),
            {"reference": reference, "outcome": outcome, "summary": f"{reference}: {outcome}"},
        )()


class _FakeDeskError(Exception):
    pass


async def test_staff_steps_go_through_the_desk_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    module = types.ModuleType("bot.staff.desk")
    module.StaffDesk = _FakeDesk  # type: ignore[attr-defined]
    module.DeskError = _FakeDeskError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.staff", types.ModuleType("bot.staff"))
    monkeypatch.setitem(sys.modules, "bot.staff.desk", module)
    _FakeDesk.calls.clear()
    report = await run_scenario(
        parse_scenario(
            BASE
            + """\
  - advance: 1d
  - staff: {complete: last, outcome: appointment, note: ADIT stamp, staff_id: officer-7}
    expect: {state: automated.menu, summary_contains: "CB-0002: appointment"}
  - staff: {complete: X-9, outcome: resolved}
"""
        ),
        database=scenario_database(),
    )
    assert _FakeDesk.calls[0][:4] == ("CB-0002", "appointment", "ADIT stamp", "officer-7")
    assert _FakeDesk.calls[0][4].isoformat() == "2026-11-24T10:00:00-05:00"  # type: ignore[attr-defined]
    step = report.failed_step
    assert step is not None and step.index == 3
    assert step.failures == ["the staff desk refused: no callback X-9"]
