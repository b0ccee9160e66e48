"""The layers point one way: parse every import of statmech/ and flows/ (ast, function-level too).

theory <- analysis <- (plots, report, refine) <- cli; flows above runner; models are physics
only. No cycles between modules of the two packages.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("statmech", "flows")

#: edges that exist today and are owned by another change; each says why it is tolerated
KNOWN: set[tuple[str, str]] = set()  # edges tolerated for now (none)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ours that ``name`` refers to (a module or an attribute of one)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for n in names:
            target = _resolve(n, modules)
            if target and target != module:
                out.add(target)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(m, p, modules) for m, p in modules.items()}


def _edges(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, deps in graph.items() for b in deps}


def _parent(module: str) -> str:
    return module.rpartition(".")[0]


def test_the_parser_sees_function_level_and_relative_imports(graph: dict[str, set[str]]) -> None:
    # statmech.presentation imports statmech.models inside presentation_of()
    assert "statmech.models" in graph["statmech.presentation"]
    assert "statmech.plots.ising" in graph["statmech.models.ising.presentation"]


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    """No cycle between modules (a package __init__ importing its own submodules aside)."""
    edges = {(a, b) for a, b in _edges(graph) if (a, b) not in KNOWN
             and not (b.startswith(a + ".") and (ROOT / a.replace(".", "/")).is_dir())}
    adj: dict[str, set[str]] = {}
    for a, b in edges:
        adj.setdefault(a, set()).add(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(adj.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt):], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(adj):
        if node not in state:
            visit(node)


def _forbidden(graph: dict[str, set[str]], source: str, targets: tuple[str, ...]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, b in _edges(graph) - KNOWN
                  if (a == source or a.startswith(source + "."))
                  and any(b == t or b.startswith(t + ".") for t in targets))


def test_analysis_imports_neither_plots_nor_report(graph: dict[str, set[str]]) -> None:
    assert _forbidden(graph, "statmech.analysis", ("statmech.plots", "statmech.report",
                                                   "statmech.refine", "statmech.cli")) == []


def test_theory_is_the_bottom_layer(graph: dict[str, set[str]]) -> None:
    assert _forbidden(graph, "statmech.theory", (
        "statmech.analysis", "statmech.plots", "statmech.report", "statmech.refine",
        "statmech.cli", "flows")) == []


def test_models_are_physics_only(graph: dict[str, set[str]]) -> None:
    """Models import neither the presentation layer nor the orchestration (their own
    ``presentation`` modules, reached lazily by name, are the presentation layer)."""
    bad = [e for e in _forbidden(graph, "statmech.models", (
        "statmech.plots", "statmech.report", "statmech.analysis", "statmech.refine",
        "statmech.cli", "statmech.store", "statmech.runner", "flows"))
        if not e.split(" -> ")[0].endswith(".presentation")]
    assert bad == []


def test_models_import_no_orchestration_or_storage_libraries() -> None:
    banned = ("prefect", "dask", "distributed", "zarr", "matplotlib", "xarray")
    found = []
    for path in (ROOT / "statmech" / "models").rglob("*.py"):
        if path.name == "presentation.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names
                      if n.split(".")[0] in banned]
    assert found == []


def test_flows_sit_above_the_runner(graph: dict[str, set[str]]) -> None:
    """Nothing in statmech imports flows except the CLI (no exceptions)."""
    bad = [f"{a} -> {b}" for a, b in _edges(graph) - KNOWN
           if a.startswith("statmech") and b.startswith("flows") and a != "statmech.cli"]
    assert bad == []


def test_presentation_layer_is_below_the_cli(graph: dict[str, set[str]]) -> None:
    assert _forbidden(graph, "statmech.plots", ("statmech.report", "statmech.refine",
                                                "statmech.cli", "flows")) == []
    # (it names the Estimate type, statmech.analysis.estimate, for type checking only)
    assert _forbidden(graph, "statmech.presentation", ("statmech.plots", "statmech.report",
                                                       "statmech.refine")) == []
