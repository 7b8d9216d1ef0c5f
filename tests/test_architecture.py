"""The package layering, read from the source: no import cycles, and dependencies point one way.

app → engine → models; training → engine, models. Every ``import`` counts, at any level
(inside functions, under ``TYPE_CHECKING``): a lazy import still ties two modules together,
and a cycle through one breaks as soon as someone moves it to the top of the file. Nothing
outside ``app/`` imports Qt (the clock process must not load it); ``app/`` reaches torch
only through the engine's generator.

An edge is what an import names: ``import a.b.c`` and ``from a.b import c`` (c a submodule)
tie the importer to ``a.b.c``, not to the packages around it, whose ``__init__`` Python runs
first; a package that re-exports its submodules is therefore no cycle, while a submodule
that imports its own package's ``__init__`` back is one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "engine", "models", "training")
# package -> the packages of this project it must never import
FORBIDDEN = {"models": ("engine", "app", "training"), "engine": ("app", "training")}


@dataclass(frozen=True)
class Import:
    """One imported name: ``target`` is the dotted module (or module attribute) named."""

    source: str
    target: str
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def iter_modules(root: Path, packages: Iterable[str]) -> Iterator[tuple[str, Path]]:
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            yield module_name(root, path), path


def imports_of(module: str, path: Path) -> list[Import]:
    """Every import in the file, wherever it stands, with relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import name``: name may be a submodule or an attribute of pkg
            found += [Import(module, f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def resolve(target: str, modules: Mapping[str, Path]) -> str | None:
    """The project module ``target`` names: itself, or the longest module prefix of it."""
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


def import_graph(root: Path, packages: Iterable[str] = PACKAGES) -> tuple[dict[str, set[str]], list[Import]]:
    """``(graph, imports)``: module → project modules it imports, and every raw import."""
    modules = dict(iter_modules(root, packages))
    graph: dict[str, set[str]] = {m: set() for m in modules}
    every: list[Import] = []
    for module, path in modules.items():
        for imp in imports_of(module, path):
            every.append(imp)
            target = resolve(imp.target, modules)
            if target is not None and target != module:
                graph[module].add(target)
    return graph, every


def find_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected component larger than a module.

    Tarjan's algorithm, iterative (no recursion limit on a deep chain of imports).
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return [_cycle_in(set(c), graph) for c in components]


def _cycle_in(component: set[str], graph: Mapping[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first), for the report."""
    first = min(component)
    parent: dict[str, str] = {}
    frontier = [first]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == first:
                    path = [node]
                    while path[-1] != first:
                        path.append(parent[path[-1]])
                    return [*reversed(path), first]
                if child not in parent:
                    parent[child] = node
                    nxt.append(child)
        frontier = nxt
    raise AssertionError(f"no cycle in component {sorted(component)}")


def layer_violations(imports: Iterable[Import]) -> list[str]:
    """The imports that break the layering rules, one line each (``source:line -> target``)."""
    bad = []
    for imp in imports:
        top, target_top = imp.source.split(".")[0], imp.target.split(".")[0]
        where = f"{imp.source}:{imp.line} imports {imp.target}"
        if target_top in FORBIDDEN.get(top, ()):
            bad.append(f"{where} ({top} must not depend on {target_top})")
        if target_top == "PySide6" and top != "app":
            bad.append(f"{where} (only app/ may import Qt)")
        if target_top == "torch" and top == "app":
            bad.append(f"{where} (app/ reaches torch only through engine.generation)")
    return bad


# -- the project ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def project() -> tuple[dict[str, set[str]], list[Import]]:
    return import_graph(REPO)


def test_the_project_has_modules_to_check(project):
    graph, imports = project
    assert {"engine.ports", "engine.realtime.clock_process", "app.sequencer_link", "models"} <= set(graph)
    assert len(imports) > 200


def test_no_import_cycles(project):
    graph, _ = project
    cycles = find_cycles(graph)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_dependencies_point_one_way(project):
    _, imports = project
    bad = layer_violations(imports)
    assert bad == [], "\n".join(bad)


# -- the checker itself, on small trees it must flag -----------------------------------------

def _tree(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_cycle_through_a_lazy_relative_import_is_found(tmp_path):
    root = _tree(tmp_path, {
        "engine/__init__.py": "",
        "engine/ports/__init__.py": "from engine.ports.base import Spec\n",
        "engine/ports/base.py": "def f():\n    from . import jack\n",
        "engine/ports/jack.py": "from engine.ports import Spec\n",
        "engine/music.py": "import engine.ports.base\n",
    })
    graph, _ = import_graph(root, ("engine",))
    assert graph["engine.ports.base"] == {"engine.ports.jack"}
    assert graph["engine.ports.jack"] == {"engine.ports"}
    assert find_cycles(graph) == [["engine.ports", "engine.ports.base", "engine.ports.jack", "engine.ports"]]


def test_an_acyclic_tree_has_no_cycles(tmp_path):
    root = _tree(tmp_path, {
        "engine/__init__.py": "from engine.ports import Spec\n",
        "engine/ports/__init__.py": "from .base import Spec\nfrom .jack import Jack\n",
        "engine/ports/base.py": "class Spec: ...\n",
        "engine/ports/jack.py": "from .base import Spec\n",
    })
    graph, _ = import_graph(root, ("engine",))
    assert graph["engine.ports"] == {"engine.ports.base", "engine.ports.jack"}
    assert find_cycles(graph) == []


def test_layering_rules_are_flagged(tmp_path):
    root = _tree(tmp_path, {
        "models/net.py": "def f():\n    from engine.music import pattern\n",
        "engine/clock.py": "import PySide6.QtCore\nfrom app import main\n",
        "app/main.py": "import torch\nfrom PySide6 import QtCore\nfrom engine import clock\n",
        "training/train.py": "import torch\nfrom engine import clock\n",
    })
    _, imports = import_graph(root)
    assert sorted(layer_violations(imports)) == [
        "app.main:1 imports torch (app/ reaches torch only through engine.generation)",
        "engine.clock:1 imports PySide6.QtCore (only app/ may import Qt)",
        "engine.clock:2 imports app.main (engine must not depend on app)",
        "models.net:2 imports engine.music.pattern (models must not depend on engine)",
    ]
