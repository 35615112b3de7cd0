"""The layout's boundaries (docs/ARCHITECTURE.md): core/ is pure, adapters/ never reach up.

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
