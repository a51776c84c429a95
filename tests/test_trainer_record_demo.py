"""Recording a stored conversation as a scenario, and narrating a scenario for a class."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.trainer.runner import run_scenario
from bot.trainer.scenario import load_scenario
from tests.conftest import ROOT, jsonl, run_cli


def test_a_recorded_conversation_replays_as_a_passing_scenario(tmp_path: Path) -> None:
    db = tmp_path / "found-in-testing.db"
    out = jsonl(
        "--db",
        str(db),
        "--user",
        "alice",
        "--now",
        "2026-11-23T10:00",
        lines=["/start", "hello there", {"button": "nav:agent"}, "/agent"],
    )
    assert out[2]["state"] == "tier1.intake"
    jsonl("--db", str(db), "--user", "alice", "--now", "2026-11-23T12:30", lines=["/menu"])

    proc = run_cli("scenarios", "record", "--db", str(db), "--user", "alice")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b"", proc.stderr.decode()
    recorded = tmp_path / "alice.yaml"
    recorded.write_bytes(proc.stdout)

    data = yaml.safe_load(proc.stdout)
    steps = data["steps"]
    assert steps[0] == {"say": "/start", "expect": {"state": "automated.menu", "tier": "automated"}}
    # Refused inputs ("hello there", a second /agent) change nothing and are not stored.
    assert steps[1]["press"] == "Talk to a person"  # the label, recovered from the replay
    assert steps[2] == {"at": "2026-11-23T12:30:00-05:00"}
    assert steps[3]["say"] == "/menu"
    assert len(steps) == 4

    run = run_cli("scenarios", "run", str(recorded))
    assert run.returncode == 0, run.stdout.decode()
    assert "PASS  recorded console:alice" in run.stdout.decode()


def test_recording_an_unknown_conversation_is_one_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    jsonl("--db", str(db), "--user", "bob", lines=["/start"])
    proc = run_cli("scenarios", "record", "--db", str(db), "--user", "nobody")
    assert proc.returncode != 0
    assert "no stored turns for conversation console:nobody" in proc.stderr.decode()
    missing = run_cli("scenarios", "record", "--db", str(tmp_path / "none.db"), "--user", "x")
    assert "no database at" in missing.stderr.decode()


def test_demo_narrates_messages_replies_state_changes_and_rules() -> None:
    path = ROOT / "config" / "scenarios" / "entry-ask-for-a-person.yaml"
    proc = run_cli("demo", str(path), "--pace", "0")
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert "Scenario: asking for a person goes to Tier 1" in out
    assert "applicant ▸ [presses Talk to a person]" in out
    assert "[TIER 1 OPERATOR] I'm passing you to a Tier 1 operator." in out
    assert "automated.menu --escalate--> tier1.intake" in out
    assert "rule: entry.asked_for_person (The applicant asked to talk to a person" in out
    assert "\033[" not in out  # no colour when stdout is not a terminal


async def test_demo_and_run_see_the_same_steps() -> None:
    scenario = load_scenario(ROOT / "config" / "scenarios" / "entry-help-and-cancel.yaml")
    report = await run_scenario(scenario)
    assert [s.index for s in report.steps] == list(range(len(scenario.steps)))


def test_demo_of_a_failing_scenario_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nnow: 2026-11-23T10:00\nsteps:\n  - say: /start\n    expect: {tier: tier2}\n"
    )
    proc = run_cli("demo", str(bad), "--pace", "0")
    assert proc.returncode == 1
    assert "✗ expected tier tier2 got automated" in proc.stdout.decode()


def test_colour_only_on_a_terminal_without_no_color(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    from bot.trainer.demo import Narrator, use_colour

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(Terminal()) and not use_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(Terminal())
    assert Narrator(Terminal(), colour=True, pace=0).badge("tier1").startswith("\033[")
    assert Narrator(io.StringIO(), colour=False, pace=0).badge("tier2") == "[TIER 2 OFFICER]"


def test_demo_marks_the_change_of_tier() -> None:
    path = ROOT / "config" / "scenarios" / "entry-ask-for-a-person.yaml"
    out = run_cli("demo", str(path), "--pace", "0").stdout.decode()
    assert "tier: [AUTOMATED] → [TIER 1 OPERATOR]" in out
