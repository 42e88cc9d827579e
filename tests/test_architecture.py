"""The package structure stays as docs/architecture.md draws it.

Read from the source with :mod:`ast` (nothing is imported): the packages depend one way
(geodata -> catchment -> solvers -> maps, ``optimise.py`` on top), no module imports
another in a cycle (imports inside functions count), and no module imports a private
name (``_name``) or a private module of another module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geodata", "catchment", "solvers", "maps", "workbench")
#: Layer of each package: a module may import only from its own layer or lower ones.
#: The workbench (a web app) is a presentation layer above maps.
LAYER = {"geodata": 0, "catchment": 1, "solvers": 2, "maps": 3, "workbench": 4, "optimise": 5}


def _modules() -> dict[str, Path]:
    found = {"optimise": ROOT / "optimise.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of every import of our own modules."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] in LAYER]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] not in LAYER:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in modules:  # "from package import module"
                    found.append((sub, None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
    return found


def _graph() -> tuple[nx.DiGraph, list[str]]:
    modules = _modules()
    graph = nx.DiGraph()
    private = []
    for name, path in modules.items():
        graph.add_node(name)
        for target, imported, line in _imports(name, path, modules):
            if target != name:
                graph.add_edge(name, target, line=line)
            where = f"{path.relative_to(ROOT)}:{line}"
            if any(part.startswith("_") and part != "__init__" for part in target.split(".")):
                private.append(f"{where} imports private module {target}")
            if imported and imported.startswith("_") and target != name:
                private.append(f"{where} imports private name {target}.{imported}")
    return graph, private


def test_packages_depend_one_way():
    graph, _ = _graph()
    upward = [
        f"{a} -> {b} (line {graph.edges[a, b]['line']})"
        for a, b in graph.edges
        if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]
    ]
    assert upward == []


def test_no_import_cycles():
    graph, _ = _graph()
    # a package's __init__ re-exporting its modules is not a cycle of the code's logic
    logic = graph.subgraph(n for n in graph if n not in PACKAGES)
    cycles = sorted(" -> ".join(c) for c in nx.simple_cycles(logic))
    assert cycles == []


def test_no_private_names_across_modules():
    _, private = _graph()
    assert private == []


#: Modules that never read or write a file (docs/architecture.md): the domain and the solver models.
DOMAIN = frozenset(
    {
        "catchment.problem",
        "catchment.plan",
        "catchment.validate",
        "catchment.metrics",
        "catchment.diagnose",
        "catchment.evaluate",
        "catchment.editing",
        "catchment.compare",
        "catchment.objective",
        "catchment.settings",
        "catchment.timing",
        "catchment.adjacency",
        "catchment.territories",
        "solvers.mip",
        "solvers.heuristic",
        "solvers.lns",
        "solvers.common",
        "solvers.contiguity",
        "solvers.backends",
        "solvers.batch",
        "solvers.dispatch",
        "solvers.formulation",
        "solvers.relaxation",
        "solvers.lagrangian",
    }
)
#: What the domain may import besides itself: the errors, and how many solves are run on how many
#: cores (solvers.distributed, geodata.settings.usable_cores; no data files).
DOMAIN_MAY_IMPORT = frozenset({"geodata.errors", "solvers.distributed", "geodata.settings"})
#: Calls that read or write files.
FILE_CALLS = frozenset(
    {
        "open",
        "read_text",
        "write_text",
        "read_bytes",
        "write_bytes",
        "to_csv",
        "to_parquet",
        "to_file",
        "read_csv",
        "read_parquet",
        "read_file",
        "read_table",
        "read_vector",
        "mkdir",
        "unlink",
        "rmtree",
    }
)
#: Files a domain module may touch, with the reason: (module, call) -> why.
FILE_CALLS_ALLOWED = {("solvers.backends", "open"): "the external solver's own log, in a temporary folder"}


def test_domain_imports_no_application():
    graph, _ = _graph()
    found = [
        f"{name} -> {target}"
        for name in sorted(DOMAIN & set(graph))
        for target in sorted(nx.descendants(graph, name))
        if target not in DOMAIN | DOMAIN_MAY_IMPORT
    ]
    assert found == []


def test_domain_reads_and_writes_no_files():
    modules = _modules()
    found = []
    for name in sorted(DOMAIN & set(modules)):
        path = modules[name]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = (
                    func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
                )
                if called in FILE_CALLS and (name, called) not in FILE_CALLS_ALLOWED:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {called}")
    assert found == []
