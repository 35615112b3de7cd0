"""The layout's boundaries (docs/ARCHITECTURE.md): core/ is pure, adapters/ never reach up,
modules and functions stay small (STYLE.md).

Imports are read with `ast`, so an import inside a function or under TYPE_CHECKING counts
as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sheetsync"

IO_LIBRARIES = frozenset(
    {
        "gspread",
        "requests",
        "sqlite3",
        "psycopg",
        "psycopg_pool",
        "apscheduler",
        "threading",
        "socket",
        "http",
        "urllib.request",
        "subprocess",
    }
)
"""What core/ may not import: the libraries that do I/O or run threads."""

CORE_MAY_USE = ("sheetsync.core", "sheetsync.config", "sheetsync.errors", "sheetsync.redact")
"""The only parts of sheetsync core/ may import: itself, the frozen config, errors, redact."""


def imported(source: str, module: str) -> set[str]:
    """Every module `source` imports (as `module`), at any depth; `from x import y` gives
    both `x` and `x.y`, since y may be a submodule."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def within(name: str, prefixes: tuple[str, ...] | frozenset[str]) -> bool:
    """Whether dotted `name` is one of `prefixes` or inside one of them."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def modules(package: str) -> dict[str, str]:
    """Dotted name -> source of every module of a subpackage of sheetsync."""
    found = {}
    for path in sorted((PACKAGE / package).rglob("*.py")):
        dotted = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        found[f"sheetsync.{dotted}"] = path.read_text("utf-8")
    return found


def violations(package: str, forbidden: tuple[str, ...] | frozenset[str]) -> list[str]:
    """`module imports name` for every forbidden import in a subpackage."""
    return [
        f"{name} imports {target}"
        for name, source in modules(package).items()
        for target in sorted(imported(source, name))
        if within(target, forbidden)
    ]


def test_core_imports_no_io_library() -> None:
    """No module of core/ imports gspread, requests, sqlite3, psycopg, APScheduler, threading..."""
    assert len(modules("core")) >= 10
    assert violations("core", IO_LIBRARIES) == []


def test_core_imports_only_core_config_errors_and_redact() -> None:
    """core/ imports nothing of cycle/, adapters/, service/ or the test helpers."""
    ours = [
        f"{name} imports {target}"
        for name, source in modules("core").items()
        for target in sorted(imported(source, name))
        if within(target, ("sheetsync",))
        and not within(target, CORE_MAY_USE)
        and target != "sheetsync"
    ]
    assert ours == []


def test_adapters_never_import_cycle_or_service() -> None:
    """adapters/ (Google, axiom, pacing, the store) import core/, config and each other only."""
    assert len(modules("adapters")) >= 20
    assert violations("adapters", ("sheetsync.cycle", "sheetsync.service")) == []


def test_cycle_never_imports_service() -> None:
    """Dependencies point one way: service/ uses cycle/, never the reverse."""
    assert len(modules("cycle")) >= 5
    assert violations("cycle", ("sheetsync.service",)) == []


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import threading", "sheetsync.core.x", {"threading"}),
        ("def f():\n    import sqlite3", "sheetsync.core.x", {"sqlite3"}),
        ("if TYPE_CHECKING:\n    from gspread import Client", "sheetsync.core.x", {"gspread"}),
        ("from urllib.request import urlopen", "sheetsync.core.x", {"urllib.request"}),
        ("from sheetsync import cycle", "sheetsync.core.x", {"sheetsync.cycle"}),
        ("from sheetsync.cycle.engine import Engine", "sheetsync.core.x", {"sheetsync.cycle"}),
        ("from ..cycle import engine", "sheetsync.core.x", {"sheetsync.cycle"}),
        ("from . import a1", "sheetsync.core.x", set()),
        ("from urllib.parse import quote", "sheetsync.core.x", set()),
        ("from sheetsync.errors import SheetError", "sheetsync.core.x", set()),
    ],
)
def test_the_checker_sees_every_kind_of_import(
    source: str, module: str, expected: set[str]
) -> None:
    """An import at any depth or of any form is caught; allowed ones are not."""
    forbidden = IO_LIBRARIES | {"sheetsync.cycle"}
    found = {f for f in imported(source, module) if within(f, forbidden)}
    assert {next(p for p in sorted(forbidden) if within(f, (p,))) for f in found} == expected


# -- sizes (STYLE.md habit 6; issue 12) --------------------------------------------------
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50

OVERSIZED_MODULES: frozenset[str] = frozenset()
"""Modules still over the limit while other branches split them (issue 12). The list may
only shrink: delete an entry once its module fits; never add one."""

OVERSIZED_FUNCTIONS: frozenset[str] = frozenset()
"""Functions still over the limit, likewise, as `module:qualified name`."""


def module_sizes() -> dict[str, int]:
    """Lines of every module of sheetsync, by path relative to the package."""
    return {
        path.relative_to(PACKAGE).as_posix(): len(path.read_text("utf-8").splitlines())
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def function_sizes(source: str) -> dict[str, int]:
    """Lines (decorators aside, docstring included) of every function, by qualified name;
    a function inside another is measured too."""
    sizes: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    sizes[name] = (child.end_lineno or child.lineno) - child.lineno + 1
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return sizes


def test_no_module_over_300_lines() -> None:
    """Every module fits in 300 lines, but for the named few being split."""
    too_long = [
        f"{path}: {lines} lines"
        for path, lines in module_sizes().items()
        if lines > MAX_MODULE_LINES and path not in OVERSIZED_MODULES
    ]
    assert too_long == []


def test_no_function_over_50_lines() -> None:
    """Every function fits in 50 lines, but for the named few being split."""
    too_long = [
        f"{key}: {lines} lines"
        for path in module_sizes()
        for name, lines in function_sizes((PACKAGE / path).read_text("utf-8")).items()
        for key in [f"{path}:{name}"]
        if lines > MAX_FUNCTION_LINES and key not in OVERSIZED_FUNCTIONS
    ]
    assert too_long == []


def test_the_size_checker_measures_functions_methods_and_nested_ones() -> None:
    """Sizes count a def's lines from `def` to its last line, methods and inner functions too."""
    source = (
        "class A:\n"
        "    @staticmethod\n"
        "    def f():\n"
        "        def g():\n"
        "            pass\n"
        "        return g\n"
        "\n"
        "async def h():\n"
        "    pass\n"
    )
    assert function_sizes(source) == {"A.f": 4, "A.f.g": 2, "h": 2}


def test_no_sql_leaves_the_store() -> None:
    """The SQLite journal's connection is the store's own: no module outside
    `adapters/store` opens a transaction on it or sends it a query (issue 12)."""
    leaks = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "adapters/store" in path.as_posix():
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("._transaction(", "._query(", ".transaction(", ".query("):
            if needle in text:
                leaks.append(f"{path.relative_to(PACKAGE)}: {needle}")
    assert leaks == []
