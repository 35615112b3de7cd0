"""Backlog progress for `sheetsync once`: a bar on a terminal, a log line otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

log = logging.getLogger("sheetsync.progress")

LOG_EVERY_SECONDS = 5.0
SHOW_ABOVE_ROWS = 10
"""Backlogs smaller than this finish too fast for a bar to help."""
MIN_RATE_SECONDS = 1.0
"""A rate measured over less time than this is noise (all rows at one instant: infinite)."""

Reporter = Callable[[str, int, int], None]


def progress_logger(
    clock: Callable[[], float] = time.monotonic, every: float = LOG_EVERY_SECONDS
) -> Reporter:
    """A reporter that logs `watch: sent/total rows, rate, time left` every few seconds."""
    started: dict[str, float] = {}
    last: dict[str, float] = {}

    def report(watch: str, done: int, total: int) -> None:
        now = clock()
        started.setdefault(watch, now)
        if total < SHOW_ABOVE_ROWS or (
            now - last.get(watch, started[watch]) < every and done < total
        ):
            return
        last[watch] = now
        elapsed = now - started[watch]
        if elapsed < MIN_RATE_SECONDS or not done:  # too short to tell a rate
            log.info("watch %s: %d/%d rows sent", watch, done, total)
            return
        rate = done / elapsed
        log.info(
            "watch %s: %d/%d rows sent, %.1f rows/s, about %.0fs left",
            watch,
            done,
            total,
            rate,
            (total - done) / rate,
        )

    return report


@contextmanager
def progress_reporter(stream: TextIO | None = None) -> Iterator[Reporter]:
    """A rich progress bar when `stream` is a terminal, else `progress_logger()`."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield progress_logger()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )

    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def report(watch: str, done: int, total: int) -> None:
        if total < SHOW_ABOVE_ROWS:
            return
        if watch not in tasks:
            tasks[watch] = bars.add_task(f"watch {watch}", total=total)
        bars.update(tasks[watch], completed=done)

    with bars:
        yield report
