"""The path of one new row through the modules: `python -m benchmarks.row_path`.

Runs one cycle of a small tab that holds one new row (the tab served once before, so the
cycle is an ordinary one) on the in-process emulators, and records every call the engine
(`sheetsync.cycle.engine`) makes into another sheetsync module, in order. Prints the
sequence (consecutive calls into the same module merged: one hand-off), how many
hand-offs, how many modules, and how many of them the row comes back to after it went
elsewhere. Counts, not times: the same code gives the same figures on any machine.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from sheetsync.testing import World

ASIDE = {"config", "errors", "redact", "testing", "report"}
"""Modules every layer uses for its vocabulary (and the test clock), by their first or last
name (`report` was top-level before issue 12, `core.report` since); a call into them is
not a hand-off."""


def handoffs(calls: list[str]) -> list[str]:
    """`calls` with consecutive repeats merged."""
    merged: list[str] = []
    for module in calls:
        if not merged or merged[-1] != module:
            merged.append(module)
    return merged


def returns(path: list[str]) -> list[str]:
    """Modules the path comes back to after it went to another one."""
    seen: set[str] = set()
    back: list[str] = []
    for module in path:
        if module in seen and module not in back:
            back.append(module)
        seen.add(module)
    return back


def counted(module: str) -> bool:
    """A sheetsync module whose calls count (the vocabulary modules aside)."""
    parts = module.split(".")
    return parts[0] == "sheetsync" and len(parts) > 1 and not {parts[1], parts[-1]} & ASIDE


def record(world: World) -> tuple[list[str], list[str]]:
    """During one cycle, in order: the modules the engine calls into, and the module of
    every call that crosses from one counted module into another."""
    engine: list[str] = []
    every: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or frame.f_back is None:
            return
        caller = str(frame.f_back.f_globals.get("__name__", ""))
        module = str(frame.f_globals.get("__name__", ""))
        if caller == module or not counted(module):
            return
        if caller.endswith(".engine"):
            engine.append(module.removeprefix("sheetsync."))
        if counted(caller):
            if not every:
                every.append(caller.removeprefix("sheetsync."))
            every.append(module.removeprefix("sheetsync."))

    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        world.once()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    return engine, every


def line(name: str, path: list[str]) -> str:
    """One summary line of a path."""
    back = returns(path)
    return (
        f"{name}: {len(path)} hand-offs to {len(set(path))} modules; "
        f"returns to {len(back)} it had left"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        world = World.start(Path(folder))
        try:
            header = ["url", "product"]
            sid = world.sheet([header, ["https://shop.example/p/1", "Product 1"]])
            world.config({"mode": "row"})
            world.once()
            world.google.insert_rows(sid, "Queue", 3, values=[["https://shop.example/p/2", "P2"]])
            engine, every = record(world)
            assert world.column("Status") == ["triggered", "triggered"], world.values()
        finally:
            world.stop()
    path = handoffs(engine)
    print("the engine's hand-offs:", " -> ".join(path))
    print(line("engine", path))
    print(line("every cross-module call", handoffs(every)))


if __name__ == "__main__":
    main()
