"""What every benchmark shares: the emulators in this process, sheets, journals, child processes.

sheetsync (and the naive loop) run as child processes, so their wall time, CPU and peak
RSS are theirs alone; the emulators run here, and the time they spend answering is
counted (`TimedGoogleEmulator.busy`) so it can be told apart from the client's own time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.processes import ProcessRun, Spawner
from sheetsync.adapters.store.journal import Journal
from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.core.plan import fingerprint
from sheetsync.emulator._http import Request, Response
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.emulator.google import GoogleEmulator
from sheetsync.testing import AUTOMATION, KEY_ENV, TEST_KEY, World

INPUTS = ["url", "product"]
RESULTS = ["Status", "Run link", "Message"]
ID_COLUMN = "sheetsync id"
DONE_LINK = "https://app.axiom.ai/automation/runs/seeded"
"""The run link of every row seeded as already handled (a batch-mode run shares one link)."""


class TimedGoogleEmulator(GoogleEmulator):
    """The Google emulator, adding up the seconds it spends answering requests."""

    def __init__(self) -> None:
        super().__init__()
        self.busy = 0.0
        self._busy_lock = threading.Lock()

    def dispatch(self, request: Request) -> Response | None:
        """Answer as usual, timing it."""
        began = time.perf_counter()
        try:
            return super().dispatch(request)
        finally:
            self._add(time.perf_counter() - began)

    def render(self, request: Request, response: Response) -> tuple[bytes, str, dict[str, str]]:
        """Encode (JSON, gzip when asked) as usual, timing it: Google's cost too."""
        began = time.perf_counter()
        try:
            return super().render(request, response)
        finally:
            self._add(time.perf_counter() - began)

    def _add(self, seconds: float) -> None:
        with self._busy_lock:
            self.busy += seconds


@dataclass(frozen=True)
class Requests:
    """Sheets requests counted by the emulator between two snapshots."""

    reads: int
    writes: int
    metadata: int

    @property
    def total(self) -> int:
        """Reads plus writes (metadata reads and grid resizes included)."""
        return self.reads + self.writes

    def __str__(self) -> str:
        return f"{self.reads} r + {self.writes} w"


def done_row(i: int) -> list[str]:
    """A row sheetsync already handled: inputs, `triggered`, its link, no message, its id."""
    url, product = new_row(i)
    return [url, product, "triggered", DONE_LINK, "", row_id(i)]


def row_id(i: int, salt: str = "") -> str:
    """Row `i`'s id, random-looking as sheetsync's own (`r` + 12 hex digits) and the same
    every run: ids in sheet order would flatter the journal, whose key index then only
    grows at its end."""
    digest = hashlib.blake2b(f"{salt}{i}".encode(), digest_size=6).hexdigest()
    return f"r{digest}"


def new_row(i: int) -> list[str]:
    """A row nobody handled yet."""
    return [f"https://shop.example/p/{i}", f"Product {i}"]


class Bench:
    """Both emulators (no quotas, real clock) and a folder per scenario."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.google = TimedGoogleEmulator()
        self.axiom = AxiomEmulator(api_key=TEST_KEY, automations=[AUTOMATION])
        self.google.start()
        self.axiom.start()
        self._key = self.google.write_service_account_file(folder / "service-account.json")
        self._worlds = 0
        self.spawner = Spawner()

    def close(self) -> None:
        """Stop the helper and both emulators."""
        self.spawner.close()
        self.google.stop()
        self.axiom.stop()

    def run(self, argv: Sequence[str]) -> ProcessRun:
        """A measured child process (see `Spawner`), with the axiom key in its environment."""
        return self.spawner.run(argv, self.env)

    @property
    def env(self) -> dict[str, str]:
        """The environment of a child: this one plus the axiom key variable."""
        return {**os.environ, KEY_ENV: TEST_KEY}

    def world(self, name: str) -> World:
        """A scenario folder (its own config and journal) on the shared emulators."""
        self._worlds += 1
        folder = self.folder / f"{self._worlds:02d}-{name}"
        folder.mkdir()
        shutil.copy2(self._key, folder / "service-account.json")
        return World(folder, self.google, self.axiom, environ={KEY_ENV: TEST_KEY})

    def counters(self) -> Requests:
        """The emulator's Sheets counters now (subtract two with `since`)."""
        google = self.google
        meta = google.count("spreadsheets.get") + google.count("spreadsheets.batchUpdate")
        return Requests(google.reads(), google.writes(), meta)

    def since(self, before: Requests) -> Requests:
        """Sheets requests since `before`."""
        now = self.counters()
        return Requests(
            now.reads - before.reads, now.writes - before.writes, now.metadata - before.metadata
        )

    def sheetsync(self, command: str, world: World, *args: str) -> ProcessRun:
        """`sheetsync COMMAND -c CONFIG --log-format json` as a child process."""
        return self.run(self.sheetsync_argv(command, world, *args))

    def sheetsync_argv(self, command: str, world: World, *args: str) -> list[str]:
        """The argv of a sheetsync child."""
        config = world.folder / "sheetsync.toml"
        argv = [sys.executable, "-m", "sheetsync", command, "-c", str(config)]
        return [*argv, *args, "--log-format", "json"]

    def naive_argv(self, world: World, *args: str) -> list[str]:
        """The argv of a naive-loop child on the world's sheet."""
        return [
            sys.executable,
            "-m",
            "benchmarks.naive",
            "--key-file",
            str(world.folder / "service-account.json"),
            "--google",
            self.google.root_url,
            "--axiom",
            self.axiom.root_url + "/api/v3",
            "--spreadsheet",
            world.spreadsheet_id,
            "--tab",
            world.tab,
            *args,
        ]


def seed_journal(world: World, watch: str, rows: Sequence[list[str]]) -> None:
    """Record `rows` (as `done_row` makes them) as triggered.

    Uses the journal's own API, as if sheetsync had handled them in one batch.
    """
    path = world.folder / "sheetsync.db"
    journal = Journal(path)
    try:
        now = datetime.now(UTC)
        claims = [(r[5], fingerprint(r[:2]), AUTOMATION) for r in rows]
        if claims:
            journal.claim(watch, claims, now)
            ids = [c[0] for c in claims]
            journal.mark_sending(watch, ids, now)
            journal.record(watch, ids, Outcome("triggered", DONE_LINK), now)
            journal.mark_checked(
                watch, ids
            )  # the rows show these ids: seen, as a flush leaves them
        journal.mark_started(watch, now)
    finally:
        journal.close()


def keep_journal(world: World) -> Path:
    """A pristine copy of the world's journal as it is now, for `restore_journal`."""
    path = world.folder / "sheetsync.db"
    if path.with_name(path.name + "-wal").exists():
        raise RuntimeError(f"{path}: still open elsewhere (its WAL file exists)")
    pristine = path.with_name("pristine.db")
    shutil.copy2(path, pristine)
    return pristine


def check_run(run: ProcessRun, what: str) -> ProcessRun:
    """`run`, or a RuntimeError with the end of its stderr when it exited non-zero."""
    if run.exit_code != 0:
        raise RuntimeError(f"{what} exited {run.exit_code}: {run.stderr[-2000:]}")
    return run


def restore_journal(world: World, pristine: Path) -> None:
    """Put the seeded journal back (forgetting what the last run recorded)."""
    path = world.folder / "sheetsync.db"
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    shutil.copy2(pristine, path)


def clear_results(world: World, first_row: int, last_row: int, columns: int) -> None:
    """Empty the result cells (columns 3..`columns`) of sheet rows first..last, as if new."""
    for row in range(first_row, last_row + 1):
        for col in range(3, columns + 1):
            world.google.set_cell(world.spreadsheet_id, world.tab, row, col, "", raw=True)


def median(values: Sequence[float]) -> float:
    """The middle value (the lower of the two middles for an even count)."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def median_cpu(runs: Sequence[ProcessRun]) -> float:
    """The runs' median CPU seconds."""
    return median([r.cpu_seconds for r in runs])


def fmt_mb(value: float) -> str:
    """Megabytes, as the table shows them."""
    return f"{value:.1f} MB" if value < 100 else f"{value:.0f} MB"


def fmt_s(value: float | None) -> str:
    """Seconds, as the table shows them."""
    if value is None:
        return "n/a"
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
