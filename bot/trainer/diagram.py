"""`tierline diagram`: the whole state machine drawn from `flows.tiers.definition()`.

Mermaid (stateDiagram-v2) and Graphviz DOT are produced in pure Python; SVG and PNG pipe
the DOT text through Graphviz's `dot` when it is installed. Tiers are groups (Mermaid
composite states, DOT clusters); transitions declared from any state (``"*"``) are drawn
from one node labelled "any state", so the diagram stays readable as the machine grows.
Edges between the same two states are merged into one arrow listing their triggers.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from flows.machine import ANY, TIERS, MachineDefinition, StateSpec

FORMATS = ("mermaid", "dot", "svg", "png")
TIER_TITLES = {
    "automated": "Automated tier",
    "tier1": "Tier 1 operator",
    "tier2": "Tier 2 officer",
    "closed": "Closed",
}
ANY_LABEL = "any state (*)"
_MERMAID_RESERVED = {"end", "state", "note", "direction", "class", "classdef", "click", "style"}


class DiagramError(Exception):
    """The diagram cannot be produced as asked (unknown state, Graphviz missing)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="mermaid",
        help="output format (default: mermaid; svg and png need Graphviz)",
    )
    parser.add_argument("--highlight", metavar="STATE", help="mark this state, e.g. tier1.intake")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="plain-language titles (config/trainer_titles.toml) instead of ids, top to "
        "bottom, Back and repeated arrows collapsed, rules under the arrows, the officer's call",
    )
    parser.add_argument(
        "--tier",
        choices=[t for t in TIERS if t != "closed"],
        help="one tier, with the states it leads to in other tiers (implies --plain)",
    )
    parser.add_argument(
        "--overview",
        action="store_true",
        help="the tiers and the ways between them, on one screen (implies --plain)",
    )
    parser.add_argument(
        "--coverage",
        action="store_true",
        help="dash the transitions the shipped scenarios never drive (plays them first)",
    )
    parser.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write to FILE instead of standard output"
    )


def run(args: argparse.Namespace) -> int:
    from flows.tiers import definition

    try:
        if args.plain or args.tier or args.overview or args.coverage:
            data = render_plain(
                definition(),
                args.format,
                tier=args.tier,
                overview=args.overview,
                coverage=args.coverage,
                highlight=args.highlight,
            )
        else:
            data = render(definition(), args.format, highlight=args.highlight)
    except DiagramError as exc:
        print(f"tierline: error: {exc}", file=sys.stderr)
        return 2
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def render(d: MachineDefinition, fmt: str, *, highlight: str | None = None) -> bytes:
    """The diagram of `d` in `fmt`, as the bytes to write."""
    if highlight is not None:
        check_state(d, highlight)
    if fmt == "mermaid":
        return mermaid(d, highlight=highlight).encode()
    if fmt == "dot":
        return dot(d, highlight=highlight).encode()
    if fmt in ("svg", "png"):
        return graphviz(dot(d, highlight=highlight), fmt)
    raise DiagramError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")


def render_plain(
    d: MachineDefinition,
    fmt: str,
    *,
    tier: str | None = None,
    overview: bool = False,
    coverage: bool = False,
    highlight: str | None = None,
) -> bytes:
    """A diagram a room can read (bot/trainer/plain_diagram.py), in `fmt`."""
    from bot.trainer import plain_diagram
    from bot.trainer.titles import Titles

    if highlight is not None:
        check_state(d, highlight)
    titles = Titles.load(d)
    if overview:
        text = plain_diagram.overview(d, titles)
        if fmt == "mermaid":
            raise DiagramError("--overview is drawn in DOT (use --format dot, svg or png)")
    elif fmt == "mermaid":
        text = plain_diagram.mermaid(d, titles, tier=tier)
    else:
        uncovered = uncovered_edges(d) if coverage else None
        text = plain_diagram.dot(d, titles, tier=tier, uncovered=uncovered, highlight=highlight)
    if fmt in ("mermaid", "dot"):
        return text.encode()
    if fmt in ("svg", "png"):
        return graphviz(text, fmt)
    raise DiagramError(f"unknown format {fmt!r} (use one of {', '.join(FORMATS)})")


def uncovered_edges(d: MachineDefinition) -> set[tuple[str, str]]:
    """The declared transitions none of the shipped scenarios drives (they are played)."""
    import asyncio

    from bot.config import config_dir
    from bot.trainer.coverage import TransitionCoverage
    from bot.trainer.runner import run_scenario
    from bot.trainer.scenario import load_scenario

    coverage = TransitionCoverage.of(d)

    async def play() -> None:
        for path in sorted((config_dir() / "scenarios").glob("*.yaml")):
            coverage.record((await run_scenario(load_scenario(path))).fired)

    asyncio.run(play())
    return {edge for edge in coverage.declared if not coverage.is_covered(edge)}


def check_state(d: MachineDefinition, name: str) -> None:
    if d.has_state(name):
        return
    names = [s.name for s in d.states]
    close = difflib.get_close_matches(name, names, n=3)
    hint = (
        f"; did you mean {', '.join(close)}?"
        if close
        else ("; run `tierline diagram` to see every state")
    )
    raise DiagramError(f"unknown state {name!r} for --highlight{hint}")


# ---- Mermaid ------------------------------------------------------------------------------


def mermaid(d: MachineDefinition, *, highlight: str | None = None) -> str:
    ids = _mermaid_ids(s.name for s in d.states)
    any_id = _unique("any_state", set(ids.values()))
    lines = ["stateDiagram-v2", "    direction LR"]
    for tier, states in _by_tier(d):
        lines.append(f'    state "{TIER_TITLES[tier]}" as tier_{tier} {{')
        for spec in states:
            lines.append(f'        state "{spec.name}" as {ids[spec.name]}')
        lines.append("    }")
    arrows = _merged_edges(d)
    if any(source == ANY for source, _ in arrows):
        lines.append(f'    state "{ANY_LABEL}" as {any_id}')
    lines.append(f"    [*] --> {ids[d.initial]}")
    for (source, dest), triggers in arrows.items():
        src = any_id if source == ANY else ids[source]
        lines.append(f"    {src} --> {ids[dest]} : {', '.join(triggers)}")
    if highlight is not None:
        lines.append("    classDef highlighted fill:#ffd54f,stroke:#e65100,stroke-width:3px")
        lines.append(f"    class {ids[highlight]} highlighted")
    return "\n".join(lines) + "\n"


def _mermaid_ids(names: Iterable[str]) -> dict[str, str]:
    """Mermaid state ids cannot hold dots: a safe, unique id per dotted name."""
    ids: dict[str, str] = {}
    taken: set[str] = {f"tier_{t}" for t in TIERS}
    for name in names:
        base = re.sub(r"\W", "_", name)
        if base.lower() in _MERMAID_RESERVED:
            base += "_"
        ids[name] = _unique(base, taken)
        taken.add(ids[name])
    return ids


def _unique(base: str, taken: set[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


# ---- DOT ----------------------------------------------------------------------------------


def dot(d: MachineDefinition, *, highlight: str | None = None) -> str:
    lines = [
        "digraph tierline {",
        "    rankdir=LR;",
        '    node [shape=box, style=rounded, fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        '    "__initial__" [shape=point, label=""];',
    ]
    for tier, states in _by_tier(d):
        lines.append(f"    subgraph cluster_{tier} {{")
        lines.append(f"        label={_q(TIER_TITLES[tier])};")
        lines.append("        style=rounded; color=gray50;")
        for spec in states:
            attrs = [f"label={_q(spec.name)}"]
            if spec.doc:
                attrs.append(f"tooltip={_q(spec.doc)}")
            if spec.name == highlight:
                attrs.append('style="rounded,filled,bold", fillcolor="#ffd54f", penwidth=3')
            lines.append(f"        {_q(spec.name)} [{', '.join(attrs)}];")
        lines.append("    }")
    arrows = _merged_edges(d)
    if any(source == ANY for source, _ in arrows):
        lines.append(f'    "__any__" [label={_q(ANY_LABEL)}, shape=ellipse, style=dashed];')
    lines.append(f'    "__initial__" -> {_q(d.initial)};')
    for (source, dest), triggers in arrows.items():
        src = '"__any__"' if source == ANY else _q(source)
        lines.append(f"    {src} -> {_q(dest)} [label={_q(', '.join(triggers))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def graphviz(dot_text: str, fmt: str) -> bytes:
    """Render DOT with Graphviz's `dot`, or say what to install."""
    exe = shutil.which("dot")
    if exe is None:
        raise DiagramError(
            f"--format {fmt} needs Graphviz, and its `dot` program is not on PATH; install it "
            "(Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz) "
            "or use --format mermaid or --format dot"
        )
    proc = subprocess.run(
        [exe, f"-T{fmt}"], input=dot_text.encode(), capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise DiagramError(f"Graphviz failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


# ---- shared -------------------------------------------------------------------------------


def _by_tier(d: MachineDefinition) -> Iterator[tuple[str, list[StateSpec]]]:
    """(tier, states) for every tier that has states, in tier order."""
    for tier in TIERS:
        states = [s for s in d.states if s.tier == tier]
        if states:
            yield tier, states


def _merged_edges(d: MachineDefinition) -> dict[tuple[str, str], list[str]]:
    """Arrows keyed by (source, dest) with the triggers that travel them, in declared order."""
    arrows: dict[tuple[str, str], list[str]] = {}
    for trigger, source, dest, _rule in d.edges():
        triggers = arrows.setdefault((source, dest), [])
        if trigger not in triggers:
            triggers.append(trigger)
    return arrows
