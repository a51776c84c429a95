"""The shape of the code holds: layers import only downwards, nothing imports in a circle,
and SQL lives in `bot/storage/` alone.

Imports are read from the source (every `import`, also inside functions; imports only for
type checkers, under `if TYPE_CHECKING:`, are left out since they never run).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("bot", "flows")


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str) -> Iterator[str]:
    """The project modules `module` imports (a name imported from a package counts as the
    submodule when there is one)."""
    tree = ast.parse(MODULES[module].read_text())
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> Iterator[str]:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                yield from visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in MODULES else base
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    for name in visit(tree):
        if name.split(".")[0] in PACKAGES and name in MODULES and name != module:
            yield name


GRAPH = {m: sorted(set(_imports(m))) for m in MODULES}

# (importer prefix, forbidden imported prefixes, why)
LAYERS = [
    ("flows", ("bot",), "the domain knows nothing of the bot"),
    (
        "bot.storage",
        ("bot.engine", "bot.actions", "bot.adapters", "bot.staff", "bot.trainer", "bot.assembly"),
        "storage is below the engine and everything that uses it",
    ),
    (
        "bot.engine",
        (
            "bot.actions",
            "bot.adapters",
            "bot.staff",
            "bot.trainer",
            "bot.assembly",
            "flows.tiers",
            "flows.entry",
            "flows.automated",
            "flows.tier1",
            "flows.tier2",
        ),
        "the engine is handed the tiers and their actions; it imports none of them",
    ),
    ("bot.actions", ("bot.staff", "bot.adapters", "bot.trainer"), "tiers do not reach into staff"),
    ("bot.staff", ("bot.adapters", "bot.trainer"), "the desk serves every adapter"),
    ("bot.trainer", ("bot.adapters",), "the trainer drives the engine, not an adapter"),
]


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_every_package_imports_only_what_its_layer_allows() -> None:
    broken = [
        f"{module} imports {target}: {why}"
        for importer, forbidden, why in LAYERS
        for module, targets in GRAPH.items()
        if _under(module, importer)
        for target in targets
        if any(_under(target, f) for f in forbidden)
    ]
    assert broken == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            connect(module)
    assert circles == []


_SQL = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|ROLLBACK|"
    r"SAVEPOINT|WITH)\b|\b(FROM|INTO|WHERE|SET)\s+[a-z_]+\b.*\b(WHERE|VALUES|SELECT|=)",
)
_DB_CALLS = {"fetchone", "fetchall", "execute", "executemany", "executescript"}


def _sql_outside_storage() -> Iterator[str]:
    for module, path in MODULES.items():
        if _under(module, "bot.storage"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _SQL.search(node.value) and not node.value.startswith(("'", '"')):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}"
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _DB_CALLS
            ):
                yield f"{path.relative_to(ROOT)}:{node.lineno}: .{node.func.attr}(...)"


def test_sql_is_written_only_in_bot_storage() -> None:
    assert list(_sql_outside_storage()) == []


@pytest.mark.parametrize(
    "text", ["SELECT * FROM cases", "UPDATE callbacks SET status = ? WHERE reference = ?"]
)
def test_the_sql_check_recognises_a_statement(text: str) -> None:
    assert _SQL.search(text)


@pytest.mark.parametrize("text", ["Select a time", "Please type your receipt number"])
def test_the_sql_check_leaves_sentences_alone(text: str) -> None:
    assert not _SQL.search(text)
