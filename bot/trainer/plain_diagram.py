"""Diagrams a room can read: plain titles instead of ids, one tier at a time or an overview
of the tiers, top to bottom, with the officer's part after a booked callback.

What `bot.trainer.diagram` draws with ids is drawn here with the titles of
`config/trainer_titles.toml`, and made smaller without losing meaning:

- the Back transitions (one per step) are not drawn; a note says Back works at every step;
- a trigger that leaves from many states (a receipt typed at any automated step) is one
  arrow, from a node that says so;
- transitions declared from any state are drawn from where they really start: asking for
  a person from the automated tier, the commands that work anywhere from one node;
- each arrow carries the rule that lets it fire, in the words declared with its route;
- after "Callback booked": the reminder, the officer's call and its outcomes;
- `coverage`: transitions the shipped scenarios never drive are dashed.
"""

from __future__ import annotations

from bot.trainer.titles import Titles
from flows.desk import OUTCOMES
from flows.machine import ANY, TIERS, MachineDefinition

TIER_TITLES = {
    "automated": "Automated tier",
    "tier1": "Tier 1 operator",
    "tier2": "Tier 2 officer",
    "closed": "Closed",
}
MANY_SOURCES = 4  # a trigger leaving from this many states is drawn once
BOOKED = "tier2.booked"
Edge = tuple[str, str]  # (trigger, source)


class Arrow:
    """One drawn arrow: from a node to a node, with titles and the rules that guard it."""

    def __init__(self, source: str, dest: str) -> None:
        self.source, self.dest = source, dest
        self.titles: list[str] = []
        self.rules: list[str] = []
        self.edges: list[Edge] = []

    def add(self, title: str, rule: str, edge: Edge) -> None:
        if title not in self.titles:
            self.titles.append(title)
        if rule and rule not in self.rules:
            self.rules.append(rule)
        self.edges.append(edge)


def arrows(d: MachineDefinition, titles: Titles) -> tuple[dict[str, str], list[Arrow]]:
    """(pseudo nodes and their labels, arrows) of the plain diagram of the whole machine."""
    pseudo: dict[str, str] = {}
    drawn: dict[tuple[str, str], Arrow] = {}
    sources: dict[str, set[str]] = {}
    for trigger, source, _dest, _rule in d.edges():
        sources.setdefault(trigger, set()).add(source)

    def arrow(source: str, dest: str) -> Arrow:
        return drawn.setdefault((source, dest), Arrow(source, dest))

    for trigger, source, dest, rule in d.edges():
        if trigger in titles.backs:
            continue
        title = titles.transition(trigger)
        if source == ANY:
            if dest == "tier1.intake":  # asking for a person: from the automated tier
                node = "__any_automated__"
                pseudo[node] = "any step of the automated tier"
            else:
                node = "__anywhere__"
                pseudo[node] = "any step (commands that work anywhere)"
            arrow(node, dest).add(title, rule, (trigger, source))
        elif len(sources[trigger]) >= MANY_SOURCES:
            node = f"__many_{trigger}__"
            tiers = sorted({s.split(".", 1)[0] for s in sources[trigger]}, key=TIERS.index)
            where = " or ".join(TIER_TITLES[t].lower() for t in tiers)
            pseudo[node] = f"any of {len(sources[trigger])} steps ({where})"
            arrow(node, dest).add(title, rule, (trigger, source))
        else:
            arrow(source, dest).add(title, rule, (trigger, source))
    return pseudo, list(drawn.values())


def dot(
    d: MachineDefinition,
    titles: Titles,
    *,
    tier: str | None = None,
    uncovered: set[Edge] | None = None,
    highlight: str | None = None,
) -> str:
    """The plain diagram (one tier, or the whole machine) in DOT, top to bottom."""
    pseudo, drawn = arrows(d, titles)
    if tier is not None:
        drawn = [a for a in drawn if _tier(a.source) == tier or _tier(a.dest) == tier]
    used = {a.source for a in drawn} | {a.dest for a in drawn}
    lines = [
        "digraph tierline {",
        "    rankdir=TB; nodesep=0.3; ranksep=0.35;",
        '    graph [fontname="Helvetica", fontsize=16];',
        '    node [shape=box, style="rounded", fontname="Helvetica", fontsize=14];',
        '    edge [fontname="Helvetica", fontsize=11];',
    ]
    for t in TIERS:
        states = [s.name for s in d.states if s.tier == t and (s.name in used or t == tier)]
        if not states:
            continue
        outside = tier is not None and t != tier
        lines.append(f"    subgraph cluster_{t} {{")
        lines.append(f"        label={_q(TIER_TITLES[t])}; style=rounded; color=gray50;")
        for name in states:
            attrs = [f"label={_q(titles.state(name))}"]
            if outside:
                attrs.append('style="rounded,dashed", color=gray50, fontcolor=gray30')
            if name == highlight:
                attrs.append('style="rounded,filled,bold", fillcolor="#ffd54f", penwidth=3')
            lines.append(f"        {_q(name)} [{', '.join(attrs)}];")
        lines.append("    }")
    for node, label in pseudo.items():
        if node in used:
            lines.append(f"    {_q(node)} [label={_q(label)}, shape=ellipse, style=dashed];")
    if tier is None or tier == "automated":
        lines.append(
            f'    "__initial__" [shape=point, label=""]; "__initial__" -> {_q(d.initial)};'
        )
    for a in drawn:
        attrs = [f"label={_label(a)}"]
        if uncovered is not None and all(e in uncovered for e in a.edges):
            attrs.append("style=dashed")
        lines.append(f"    {_q(a.source)} -> {_q(a.dest)} [{', '.join(attrs)}];")
    if tier in (None, "tier2"):
        lines.extend(_officer(titles))
    lines.append(
        '    "__back__" [shape=note, fontsize=11, label="Back returns to the step before, '
        'at every step"];'
    )
    if uncovered is not None:
        lines.append(
            '    "__legend__" [shape=note, fontsize=11, label="dashed arrows: never driven '
            'by the shipped scenarios"];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def overview(d: MachineDefinition, titles: Titles) -> str:
    """The tiers, the ways from one to another, and the officer's call: fits one screen."""
    _pseudo, drawn = arrows(d, titles)
    between: dict[tuple[str, str], list[str]] = {}
    for a in drawn:
        source = {"__any_automated__": "automated", "__anywhere__": "anywhere"}.get(
            a.source, _tier(a.source)
        )
        dest = _tier(a.dest)
        if source is None or dest is None or source == dest:
            continue
        labels = between.setdefault((source, dest), [])
        labels.extend(t for t in a.titles if t not in labels)
    lines = [
        "digraph tiers {",
        "    rankdir=TB; nodesep=0.6; ranksep=0.6;",
        '    graph [fontname="Helvetica"];',
        '    node [shape=box, style="rounded,filled", fillcolor="#eef3fb", '
        'fontname="Helvetica", fontsize=18];',
        '    edge [fontname="Helvetica", fontsize=14];',
    ]
    for t in TIERS:
        lines.append(f"    {_q(t)} [label={_q(TIER_TITLES[t])}];")
    lines.append('    "anywhere" [label="any step", shape=ellipse, style=dashed, fontsize=14];')
    lines.append(
        f'    "call" [label={_q(titles.officer["call"])}, shape=note, fillcolor="#fff8e1"];'
    )
    for (source, dest), labels in between.items():
        lines.append(f"    {_q(source)} -> {_q(dest)} [label={_q(_wrap(', '.join(labels)))}];")
    lines.append(f'    "tier2" -> "call" [label={_q(titles.officer["reminder"])}, style=dashed];')
    outcomes = "\\n".join(titles.officer[o] for o in OUTCOMES)
    lines.append(f'    "outcomes" [label="{outcomes}", shape=note, fillcolor="#fff8e1"];')
    lines.append('    "call" -> "outcomes";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def mermaid(d: MachineDefinition, titles: Titles, *, tier: str | None = None) -> str:
    """The plain diagram in Mermaid (stateDiagram-v2), top to bottom."""
    pseudo, drawn = arrows(d, titles)
    if tier is not None:
        drawn = [a for a in drawn if _tier(a.source) == tier or _tier(a.dest) == tier]
    used = {a.source for a in drawn} | {a.dest for a in drawn}
    ids = {name: f"s{i}" for i, name in enumerate([*(s.name for s in d.states), *pseudo])}
    lines = ["stateDiagram-v2", "    direction TB"]
    for name in ids:
        if name in used:
            label = pseudo.get(name) or titles.state(name)
            lines.append(f'    state "{_m(label)}" as {ids[name]}')
    for a in drawn:
        lines.append(f"    {ids[a.source]} --> {ids[a.dest]} : {_m(', '.join(a.titles))}")
    if tier in (None, "tier2"):
        lines.append(f'    state "{_m(titles.officer["call"])}" as officer_call')
        lines.append(f"    {ids[BOOKED]} --> officer_call : {_m(titles.officer['reminder'])}")
        for i, outcome in enumerate(OUTCOMES):
            lines.append(f'    state "{_m(titles.officer[outcome])}" as outcome{i}')
            lines.append(f"    officer_call --> outcome{i}")
    return "\n".join(lines) + "\n"


def _officer(titles: Titles) -> list[str]:
    lines = [
        "    subgraph cluster_officer {",
        '        label="After the chat: the officer"; style="rounded,dashed"; color=gray50;',
        f'        "__call__" [label={_q(titles.officer["call"])}, shape=note];',
    ]
    for outcome in OUTCOMES:
        lines.append(f'        "__{outcome}__" [label={_q(titles.officer[outcome])}, shape=note];')
    lines.append("    }")
    lines.append(
        f'    {_q(BOOKED)} -> "__call__" [label={_q(titles.officer["reminder"])}, style=dashed];'
    )
    lines.extend(f'    "__call__" -> "__{o}__" [style=dashed];' for o in OUTCOMES)
    return lines


def _tier(node: str) -> str | None:
    if node == "__any_automated__":
        return "automated"
    if node.startswith("__"):
        return None
    return node.split(".", 1)[0]


def _label(a: Arrow) -> str:
    """An HTML-like DOT label: the titles, and under them the guarding rules, smaller."""
    title = _html(", ".join(a.titles))
    if not a.rules:
        return f"<{title}>"
    rules = "<BR/>".join(_html(_wrap(r, 38)).replace("\n", "<BR/>") for r in a.rules[:2])
    return f'<{title}<BR/><FONT POINT-SIZE="9" COLOR="gray35"><I>{rules}</I></FONT>>'


def _wrap(text: str, width: int = 28) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _m(text: str) -> str:
    return text.replace('"', "'").replace(":", " -").replace(";", ",")
