"""The package's structure: imports go down the layers, never round in a circle (function-local ones included)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bayes_scaling"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules ``path`` imports anywhere in its body. ``from package import submodule``
    is an import of the submodule (the package's ``__init__`` runs first whatever is imported)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            found.update(submodules)
            if len(submodules) < len(node.names):  # some names are the package's own
                found.add(node.module)
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: _imports(path, set(paths)) - {name} for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_are_found_where_there_are_some():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert "bayes_scaling.forecast" in graph and "bayes_scaling.laws.law" in graph["bayes_scaling.laws.loss"]
    assert cycles(graph) == []


# The layers of docs/architecture.md, lowest first: a module imports only its own layer and those below.
LAYERS = [
    ("tables", "intervals", "quiet", "progress", "atomic_write", "formatting", "scoring", "buckets", "datasets"),
    ("laws", "inference", "ladder"),
    ("checks", "codeeval", "point_forecast", "allocation", "cost_models"),
    ("output",),
    ("forecast", "forecast_record", "forecast_result", "forecast_file"),
    ("evaluation", "planning"),
    ("cli", ""),  # "": the package's own __init__ (lazy names for everything)
]


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    return next(i for i, names in enumerate(LAYERS) if top in names)


def test_every_module_has_a_layer():
    for name in import_graph():
        _layer(name)  # StopIteration names a module docs/architecture.md does not place


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return [(name, other) for name, imported in graph.items() for other in imported if _layer(other) > _layer(name)]


def test_lower_layers_never_import_higher_ones():
    """Tables know nothing of laws; laws and the sampler nothing of checks; checks nothing of the
    report; nothing below ``forecast`` imports it; evaluation and the command line sit on top."""
    assert upward_imports(import_graph()) == []


def test_an_upward_import_is_found():
    graph = {"bayes_scaling.checks.verdict": {"bayes_scaling.forecast_result", "bayes_scaling.laws.loss"},
             "bayes_scaling.forecast": {"bayes_scaling.checks.verdict"}}
    assert upward_imports(graph) == [("bayes_scaling.checks.verdict", "bayes_scaling.forecast_result")]
