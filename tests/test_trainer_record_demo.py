"""Recording a stored conversation as a scenario, and narrating a scenario for a class."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.trainer.runner import run_scenario
from bot.trainer.scenario import load_scenario
from tests.conftest import ROOT, jsonl, run_cli
from tests.pg_server import scenario_database


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
    # The handover is said by both tiers, in one message.
    assert "[AUTOMATED → TIER 1 OPERATOR] I'm passing you to a Tier 1 operator." in out
    assert "automated.menu --escalate--> tier1.intake" in out
    # The rule in plain words, its id after.
    assert "rule: The applicant asked to talk to a person" in out
    assert "[entry.asked_for_person]" in out
    assert "\033[" not in out  # no colour when stdout is not a terminal


async def test_demo_and_run_see_the_same_steps() -> None:
    scenario = load_scenario(ROOT / "config" / "scenarios" / "entry-help-and-cancel.yaml")
    report = await run_scenario(scenario, database=scenario_database())
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


def test_demo_lists_the_shipped_scenarios_and_finds_one_by_name() -> None:
    listed = run_cli("demo", "--list")
    assert listed.returncode == 0
    lines = listed.stdout.decode().splitlines()
    shipped = sorted((ROOT / "config" / "scenarios").glob("*.yaml"))
    assert len(lines) == len(shipped)
    assert any(
        line.startswith("tier2-officer-books-field-visit ") and "[" not in line for line in lines
    )
    assert any(line.startswith("es-") and line.endswith("[es]") for line in lines)
    by_name = run_cli("demo", "tier2-officer-books-field-visit", "--pace", "0")
    assert by_name.returncode == 0, by_name.stderr.decode()
    by_words = run_cli("demo", "two no answers", "--pace", "0")  # words of the title
    assert by_words.returncode == 0, by_words.stderr.decode()
    assert "Scenario: " in by_words.stdout.decode()


def test_a_name_that_fits_no_scenario_or_several_is_one_clear_error() -> None:
    unknown = run_cli("demo", "no-such-scenario")
    assert unknown.returncode == 2
    assert (
        "no scenario file or shipped scenario named 'no-such-scenario'" in unknown.stderr.decode()
    )
    several = run_cli("demo", "officer books")  # English and Spanish
    assert several.returncode == 2
    assert "names 2 scenarios" in several.stderr.decode()
    assert "Traceback" not in unknown.stderr.decode() + several.stderr.decode()


def test_demo_steps_on_enter_and_stops_on_q() -> None:
    path = ROOT / "config" / "scenarios" / "entry-help-and-cancel.yaml"
    steps = len(load_scenario(path).steps)
    whole = run_cli("demo", str(path), "--step", input="\n" * steps)
    assert whole.returncode == 0, whole.stderr.decode()
    assert whole.stdout.decode().count("(Enter: next step, q: stop)") == steps
    assert "✓ the conversation went as the scenario says" in whole.stdout.decode()
    stopped = run_cli("demo", str(path), "--step", input="\nq\n")
    out = stopped.stdout.decode()
    assert stopped.returncode == 0 and "(stopped)" in out
    assert out.count("(Enter: next step, q: stop)") == 2  # two steps shown, then q
    assert "✓" not in out


def test_tier_1_explains_the_escalation_and_the_officer_works_in_steps() -> None:
    escalation = run_cli(
        "demo", "tier1-escalation-to-officer-callback", "--pace", "0"
    ).stdout.decode()
    # Tier 1's reasons for an officer's call are not said by the officer.
    assert "[TIER 1 OPERATOR → TIER 2 OFFICER] This needs a Tier 2 officer" in escalation
    assert "[TIER 2 OFFICER] This needs" not in escalation
    visit = run_cli("demo", "tier2-officer-books-field-visit", "--pace", "0").stdout.decode()
    assert "officer 1. takes the applicant's newest callback from the queue" in visit
    assert "officer 2. calls the applicant at the time they chose" in visit
    assert "officer 3. records the outcome: an in-person visit is justified" in visit
    assert "officer 4. CB-" in visit and "Field Office" in visit
