"""Diagrams a room can read: plain titles, one tier or the tiers, the officer's part, checked
as Graphviz draws them (size, and what a reader sees)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.config import ConfigError, config_dir
from bot.trainer.diagram import render_plain, uncovered_edges
from bot.trainer.plain_diagram import dot as plain_dot
from bot.trainer.titles import Titles, shipped
from flows.machine import ANY
from flows.tiers import definition
from tests.conftest import run_cli

needs_graphviz = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz is installed by .ci/run"
)
# A dotted id (tier1.intake, entry.started) or a trigger name with an underscore.
RAW_ID = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)*\.[a-z_]+\b|\b[a-z]+_[a-z_]+\b")


def visible_text(svg: bytes) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", t).replace("&#45;", "-").replace("&amp;", "&")
        for t in re.findall(r"<text[^>]*>(.*?)</text>", svg.decode(), flags=re.S)
    ]


def size_px(svg: bytes) -> tuple[float, float]:
    m = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg.decode())
    assert m is not None
    return float(m.group(1)) * 96 / 72, float(m.group(2)) * 96 / 72


def test_every_state_and_trigger_has_a_plain_title() -> None:
    titles = shipped()
    d = definition()
    for spec in d.states:
        assert spec.name in titles.states and titles.state(spec.name) != spec.name
    for trigger, _source, _dest, _rule in d.edges():
        assert trigger in titles.transitions or trigger in titles.backs, trigger
    assert titles.transition("back_tier2_phone") == "Back"


def test_a_missing_or_unknown_title_is_refused_with_file_field_and_reason(tmp_path: Path) -> None:
    text = (config_dir() / "trainer_titles.toml").read_text()
    missing = tmp_path / "missing.toml"
    missing.write_text(text.replace('"tier1.intake" = "Operator asks who is asking"\n', ""))
    with pytest.raises(ConfigError, match=r"missing\.toml: states\.tier1\.intake: no title"):
        Titles.load(definition(), missing)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(text.replace("[transitions]\n", '[transitions]\nno_such = "x"\n'))
    with pytest.raises(ConfigError, match=r"transitions\.no_such: the machine has no such"):
        Titles.load(definition(), unknown)


@needs_graphviz
@pytest.mark.parametrize("what", ["overview", "automated", "tier1", "tier2", "all"])
def test_plain_diagrams_show_no_raw_ids(what: str) -> None:
    svg = render_plain(
        definition(),
        "svg",
        overview=what == "overview",
        tier=None if what in ("overview", "all") else what,
    )
    seen = "\n".join(visible_text(svg))
    assert seen.strip()
    assert not RAW_ID.findall(seen), RAW_ID.findall(seen)[:5]


@needs_graphviz
def test_the_overview_fits_a_1080p_screen_at_a_legible_font() -> None:
    d = definition()
    source = render_plain(d, "dot", overview=True).decode()
    sizes = [int(x) for x in re.findall(r"fontsize=(\d+)", source)]
    assert min(sizes) >= 14  # what a room reads on a projector
    width, height = size_px(render_plain(d, "svg", overview=True))
    assert width <= 1920 and height <= 1080, (width, height)
    seen = "\n".join(visible_text(render_plain(d, "svg", overview=True)))
    for words in ("Automated tier", "Tier 1 operator", "Tier 2 officer", "asks for a person"):
        assert words in seen
    # The officer's part after the chat: the reminder, the call and every outcome.
    titles = shipped()
    for words in titles.officer.values():
        assert words in seen.replace("\n", " ")


def test_the_many_lookup_arrows_are_one_and_escalation_starts_in_the_automated_tier() -> None:
    d = definition()
    text = plain_dot(d, shipped(), tier="automated")
    lookups = sum(1 for t, _s, _d, _r in d.edges() if t == "lookup")
    assert lookups >= 6
    assert text.count('-> "automated.status.answered" [label=<receipt typed') == 1
    assert '"__any_automated__" -> "tier1.intake"' in plain_dot(d, shipped())
    assert '"__any__"' not in text  # no node for "any state"
    assert "Back returns to the step before" in text  # Back collapsed into a note


def test_coverage_dashes_only_the_transitions_no_scenario_drives() -> None:
    d = definition()
    never = uncovered_edges(d)
    everything = {(t, s) for t, s, _d, _r in d.edges()}
    assert never < everything  # the shipped scenarios drive most, not all
    text = plain_dot(d, shipped(), uncovered=never)
    arrows = re.findall(r'^    "([^"]+)" -> "([^"]+)" \[(.*)\];$', text, flags=re.M)
    dashed = [a for a in arrows if "style=dashed" in a[2] and not a[0].startswith("__call")]
    solid = [a for a in arrows if "style=dashed" not in a[2]]
    assert solid and ("tier1.issue", "tier2.slots") in {(a, b) for a, b, _ in solid}
    for source, dest, _attrs in dashed:
        if source.startswith("__") or dest.startswith("__"):
            continue
        driven = {(t, s) for t, s, dd, _r in d.edges() if s in (source, ANY) and dd == dest} - never
        assert not driven, (source, dest, driven)


def test_cli_flags_for_tiers_overview_and_plain_mermaid() -> None:
    plain = run_cli("diagram", "--plain")
    assert plain.returncode == 0
    assert plain.stdout.decode().startswith("stateDiagram-v2\n    direction TB")
    assert "Operator asks who is asking" in plain.stdout.decode()
    tier = run_cli("diagram", "--tier", "tier2", "--format", "dot")
    assert tier.returncode == 0 and "Officer calls at the booked time" in tier.stdout.decode()
    bad = run_cli("diagram", "--overview")  # Mermaid has no overview
    assert bad.returncode == 2 and "--overview is drawn in DOT" in bad.stderr.decode()
