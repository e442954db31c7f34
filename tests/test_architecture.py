"""The layers a reader of the tree relies on, read from the imports themselves.

- ``transforms`` never imports Airflow: every step runs in a plain process or test.
- The ingest (sources, boundaries, police months) never imports ``publish``; ``privacy`` never
  imports ``publish`` or ``pipeline``.
- No import cycle, counting the imports inside functions too (a lazy import is no excuse).
- No module of the product over 600 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PACKAGES = {"transforms": PROJECT / "transforms", "opencrime_airflow": PROJECT / "plugins"}


def module_name(path: Path) -> str:
    root = PROJECT / "plugins" if path.is_relative_to(PROJECT / "plugins") else PROJECT
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        base = folder / package if package == "opencrime_airflow" else folder
        for path in sorted(base.rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports, anywhere in it (a package's import of a name that
    is one of its modules counts as importing that module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name for name in names if name in known}
        found |= {n for n in names if n.split(".")[0] in ("airflow",)}
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, set(known)) for name, path in known.items()}


def test_transforms_never_import_airflow() -> None:
    for module, imported in graph().items():
        if module.startswith("transforms"):
            assert not {i for i in imported if i.startswith("airflow")}, module


def test_ingest_and_privacy_do_not_reach_into_later_layers() -> None:
    ingest = ("transforms.sources", "transforms.pipeline.boundaries", "transforms.pipeline.police_")
    for module, imported in graph().items():
        if module.startswith(ingest):
            assert not {i for i in imported if i.startswith("transforms.publish")}, module
        if module.startswith("transforms.privacy"):
            later = {
                i for i in imported if i.startswith(("transforms.publish", "transforms.pipeline"))
            }
            assert not later, module


def test_no_import_cycles() -> None:
    edges = {
        m: {i for i in imported if not i.startswith("airflow")} for m, imported in graph().items()
    }
    # a package's __init__ importing its own modules is not a cycle through them
    cycles = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if target.startswith(module + "."):
                continue
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_module_of_the_product_is_over_600_lines() -> None:
    long = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text().splitlines())) > 600
    }
    assert long == {}


def test_every_package_of_the_product_is_in_the_distribution() -> None:
    """The image installs the wheel, not the source tree: a package missing from pyproject's
    list would be missing there, while every test here still passes on the editable install."""
    import tomllib

    listed = set(
        tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert found == listed
