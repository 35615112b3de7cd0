"""Soak: three `sheetsync run` instances, 12 spreadsheets, 600 rows typed over 3 minutes,
30 random faults (FLEET.md's test 8). Marker `soak`: not in the default run; `.ci/run`
runs it as its own step (`pytest -m soak`, about 4-5 minutes).

The faults: SIGKILL an instance (a new one starts 0.5-2 s later), SIGSTOP one for 1-3
leases, black-hole one's database connections (its own TcpProxy) for 1-3 leases, and
`pg_ctl restart -m immediate` of the database. The database is a throwaway cluster this
test starts itself (initdb in a temporary folder, a free port), never the machine's
shared server. Afterwards: 0 duplicates (axiom's log), 0 lost (every typed row final;
each `triggered` row sent once), the spreadsheets spread within ±1 of the fair share.
An instance that ends by itself (a start meeting the database restarting) is started
again, as systemd's `Restart=on-failure` would; a traceback fails the test. The final
wait lasts while rows keep becoming final (QUIET, CAP); a failure prints each row not
final (`testing_fleet_report`). `SHEETSYNC_SOAK_SEED` replays a run; the seed and the
figures are printed.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sheetsync.testing import World
from sheetsync.testing_fleet import LEASE, Fleet, Instance, wait_for, wait_progress
from sheetsync.testing_fleet_report import (
    final_count,
    misplaced,
    rows_report,
    stuck_report,
    unknown_reasons,
)
from sheetsync.testing_proxy import Mode, TcpProxy

pytestmark = pytest.mark.soak

INSTANCES, SHEETS, ROWS, SECONDS, FAULTS = 3, 12, 600, 180.0, 30
QUIET, CAP = 60.0, 150.0
"""The final wait: it fails once no row has become final for QUIET s, or after CAP s."""
KINDS = ("kill", "pause", "partition", "restart")
WEIGHTS = (3, 3, 3, 1)


class Cluster:
    """A throwaway PostgreSQL cluster (the Debian package's binaries) on a free port."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            pytest.fail("the soak test needs PostgreSQL's binaries (Debian: postgresql)")
        self.bin = bins[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="sheetsync-soak-pg."))
        self.data = self.dir / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.runas: list[str] = []
        if os.getuid() == 0:  # initdb refuses root: the cluster runs as postgres
            shutil.chown(self.dir, "postgres")
            self.runas = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.runas, str(self.bin / tool), *args], check=True, capture_output=True, timeout=60
        )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port}"
        options += f" -c unix_socket_directories={self.dir} -c max_connections=200"
        log = str(self.dir / "log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-o", options, "start")

    def restart(self) -> None:
        """`pg_ctl restart -m immediate`: every connection drops, no clean shutdown."""
        log = str(self.dir / "log")  # without -l the server would hold our pipe open
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-m", "immediate", "-w", "restart")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    made = Cluster()
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def soak_url(cluster: Cluster) -> str:
    import psycopg

    from sheetsync.adapters.store.pg_schema import migrate

    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute("CREATE DATABASE soak")
    with psycopg.connect(cluster.url("soak"), autocommit=True) as conn:
        migrate(conn)
    return cluster.url("soak")


class Chaos:
    """The instances, their proxies, and the faults in progress with their ends."""

    def __init__(self, fleet: Fleet, cluster: Cluster, rng: random.Random) -> None:
        self.fleet, self.cluster, self.rng = fleet, cluster, rng
        self.slots: list[tuple[Instance, TcpProxy]] = []
        self.undo: list[tuple[float, int, Callable[[], None]]] = []
        self.busy: set[int] = set()
        self.done: Counter[str] = Counter()
        self.exits: list[str] = []
        """Instances that ended by themselves: their name, exit code and last log line."""
        self._made = 0

    def spawn(self, slot: int | None = None) -> None:
        proxy = self.slots[slot][1] if slot is not None else self.fleet.proxy()
        self._made += 1
        made = self.fleet.start(f"i{self._made}", proxy=proxy, level="INFO")
        if slot is None:
            self.slots.append((made, proxy))
        else:
            self.slots[slot] = (made, proxy)

    def strike(self, now: float) -> None:
        kind = self.rng.choices(KINDS, WEIGHTS)[0]
        free = [i for i in range(len(self.slots)) if i not in self.busy]
        if kind == "restart" or not free:
            self.cluster.restart()
            self.done["restart"] += 1
            return
        slot = self.rng.choice(free)
        instance, proxy = self.slots[slot]
        length = self.rng.uniform(1, 3) * LEASE
        self.busy.add(slot)
        if kind == "kill":
            instance.kill()
            self.later(now + self.rng.uniform(0.5, 2), slot, lambda: self.spawn(slot))
        elif kind == "pause":
            instance.pause()
            self.later(now + length, slot, instance.resume)
        else:
            proxy.set_mode(Mode.BLACKHOLE)
            self.later(now + length, slot, lambda: proxy.set_mode(Mode.PASS))
        self.done[kind] += 1

    def later(self, at: float, slot: int, action: Callable[[], None]) -> None:
        self.undo.append((at, slot, action))

    def supervise(self) -> None:
        """Start again, as systemd's `Restart=on-failure` would, an instance that ended by
        itself (not one killed or paused here): a start that meets the database restarting
        fails with a one-line error (exit 1). A traceback, or an exit systemd does not
        restart (2, 243: RestartPreventExitStatus=), is a crash the test fails on."""
        for slot, (instance, _) in enumerate(self.slots):
            if slot in self.busy or instance.alive():
                continue
            code = instance.process.proc.returncode
            lines = instance.process.lines()
            self.exits.append(f"{instance.name} exit {code}: {lines[-1] if lines else ''}")
            if code in (2, 243) or any("Traceback" in line for line in lines):
                pytest.fail(f"{instance.name} crashed (exit {code}):\n" + "\n".join(lines[-30:]))
            self.spawn(slot)

    def heal(self, now: float = math.inf) -> None:
        due = [u for u in self.undo if u[0] <= now]
        self.undo = [u for u in self.undo if u[0] > now]
        for _, slot, action in due:
            action()
            self.busy.discard(slot)


@pytest.fixture
def fleet(world: World, soak_url: str) -> Iterator[Fleet]:
    made = Fleet(world, soak_url)
    try:
        yield made
    finally:
        made.close()


@pytest.mark.timeout(600)
def test_soak(fleet: Fleet, cluster: Cluster) -> None:
    seed = int(os.environ.get("SHEETSYNC_SOAK_SEED") or random.randrange(2**32))
    print(f"\nsoak seed {seed} (SHEETSYNC_SOAK_SEED={seed} replays the faults' choices)")
    rng = random.Random(seed)
    sheets = fleet.spreadsheets(SHEETS, rows=0)
    fleet.configure(timeout_seconds=5)
    chaos = Chaos(fleet, cluster, rng)
    for _ in range(INSTANCES):
        chaos.spawn()
    wait_for(lambda: len(fleet.leases()) == SHEETS, 60, "every spreadsheet held")
    typed: list[str] = []
    start = time.monotonic()
    strikes = sorted(rng.uniform(5, SECONDS - 10) for _ in range(FAULTS))
    while (now := time.monotonic()) - start < SECONDS or len(typed) < ROWS:
        while len(typed) < min(ROWS, int(ROWS * (now - start) / SECONDS) + 1):
            sheet = sheets[len(typed) % SHEETS]
            typed.append(fleet.add_row(sheet, f"soak-{len(typed)}"))
        if strikes and now - start >= strikes[0]:
            strikes.pop(0)
            chaos.strike(now)
        chaos.heal(now)
        chaos.supervise()
        time.sleep(0.05)
    chaos.heal()
    faulted = time.monotonic() - start

    def progress() -> tuple[int, int]:
        chaos.supervise()
        return final_count(fleet)

    try:
        wait_progress(progress, QUIET, CAP, "rows final")
    except AssertionError as failed:
        pytest.fail(f"{failed}; seed {seed}, faults {dict(chaos.done)}\n{stuck_report(fleet)}")
    settled = time.monotonic() - start
    share = math.ceil(SHEETS / INSTANCES)
    spread = wait_for(lambda: spread_ok(fleet, chaos, share), 60, "a fair spread")

    sent = fleet.sent()
    statuses = {u: s for sid in sheets for u, s in fleet.statuses(sid).items()}
    states = Counter(statuses.values())
    duplicates = {u: n for u, n in sent.items() if n > 1}
    lost = [u for u in typed if statuses.get(u) not in {"triggered", "unknown"}]
    unsent = [u for u in typed if statuses.get(u) == "triggered" and sent[u] != 1]
    wrong = misplaced(fleet)
    print(
        f"soak: seed {seed}; rows {len(typed)} (typed in {faulted:.0f} s); "
        f"triggered {states['triggered']}; unknown {states['unknown']} "
        f"({sum(sent[u] for u, s in statuses.items() if s == 'unknown')} of them sent; "
        f"why: {dict(unknown_reasons(fleet))}); "
        f"POSTs {sum(sent.values())}; duplicates {len(duplicates)}; "
        f"late claim writes put back {late_claim_writes(fleet)}; "
        f"lost {len(lost) + len(unsent)}; misplaced {len(wrong)}; faults {dict(chaos.done)}; "
        f"self exits {len(chaos.exits)} (started again) {chaos.exits}; "
        f"spread {spread} (fair share {share}); all final {settled - faulted:.0f} s after "
        f"the last row was typed ({settled:.0f} s after the first)"
    )
    if wrong:  # each misplaced row's cells, journal row, events and strays
        print(rows_report(fleet, lambda r: any(w.startswith(f"{r.url} ") for w in wrong)))
    assert sum(chaos.done.values()) == FAULTS
    assert duplicates == {}
    assert lost == [] and unsent == []
    assert wrong == []
    assert set(sent) <= set(typed) and len(statuses) == ROWS


def late_claim_writes(fleet: Fleet) -> int:
    """How many rows a late claim write hit one row off were put back (`cycle/misses`)."""
    return sum(
        "a late claim write landed there" in line
        for instance in fleet.instances
        for line in instance.process.lines()
    )


def spread_ok(fleet: Fleet, chaos: Chaos, share: int) -> list[int] | None:
    """Each live instance's count of spreadsheets, when every one is held within ±1."""
    chaos.supervise()
    counts = sorted(len(fleet.held_by(i)) for i, _ in chaos.slots)
    fine = sum(counts) == SHEETS and all(abs(n - share) <= 1 for n in counts)
    return counts if fine else None
