"""Real `sheetsync run` processes on one PostgreSQL database: the fleet tests' harness.

`Fleet` writes one config (every watch, `[state] url` with FLEET.md's short lease
timings), starts instances (`DaemonProcess`, one log each, optionally through a
`TcpProxy` or with a skewed wall clock), and reads what happened: the leases and their
holders' PIDs from the database, the rows' statuses from the Sheets emulator, every POST
from the axiom emulator's log.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sheetsync.service.wall_clock import CLOCK_OFFSET_ENV
from sheetsync.testing import DaemonProcess, World
from sheetsync.testing_proxy import TcpProxy

HEADER = ["url", "product"]
LEASE, RENEW, ACQUIRE = 2.0, 0.67, 0.25
"""FLEET.md's test timings (the config's `lease_seconds`, `renew_seconds`, `acquire_seconds`)."""
INTERVAL = 0.5
FINAL = frozenset({"triggered", "unknown"})
SHEET_ID = re.compile(r"/spreadsheets/([^/:?]+)")


def query(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """One statement on the database, autocommitted."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        cursor = conn.execute(sql, args or None)
        return cursor.fetchall() if cursor.description else []


def wait_for(check: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll `check` until it returns something true; fail naming `what` after `timeout` s."""
    end = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def wait_progress(
    measure: Callable[[], tuple[int, int]], quiet: float, cap: float, what: str, step: float = 0.25
) -> None:
    """Poll `measure` -> (done, total) until done == total. Fail naming `what` once `quiet`
    s pass with `done` not growing, or after `cap` s in all (a slow fleet that keeps
    finishing rows is waited for; a stuck one fails in `quiet` s)."""
    start = last = time.monotonic()
    best = -1
    while True:
        done, total = measure()
        now = time.monotonic()
        if done >= total:
            return
        if done > best:
            best, last = done, now
        if now - last > quiet or now - start > cap:
            quiet_for = now - last
            why = f"no progress for {quiet_for:.0f} s" if quiet_for > quiet else f"{cap:.0f} s cap"
            raise AssertionError(f"{what}: {done} of {total} after {now - start:.0f} s ({why})")
        time.sleep(step)


class Instance:
    """One `sheetsync run` of the fleet."""

    def __init__(self, name: str, process: DaemonProcess) -> None:
        self.name, self.process = name, process

    @property
    def pid(self) -> int:
        return self.process.proc.pid

    def alive(self) -> bool:
        return self.process.proc.poll() is None

    def kill(self) -> float:
        """SIGKILL; returns the time (`time.time()`) by which it is surely dead."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(30)
        return time.time()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM once it serves (its handlers are set when it logs `sheetsync started`:
        a SIGTERM before, on a loaded machine, ends it by the signal, -15); the exit code."""
        wait_for(lambda: "sheetsync started" in self.process.log(), timeout, f"{self.name} serving")
        return self.process.stop(timeout)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)


class Fleet:
    """Instances of one config on one database, the emulators of `world`."""

    def __init__(self, world: World, pg_url: str) -> None:
        self.world, self.url = world, pg_url
        self.instances: list[Instance] = []
        self.proxies: list[TcpProxy] = []
        self.sheets: list[str] = []
        self._made = 0

    # -- setup ---------------------------------------------------------------------
    def spreadsheets(self, count: int, rows: int) -> list[str]:
        """`count` spreadsheets, each with `rows` rows whose urls name their sheet."""
        for _ in range(count):
            n = len(self.sheets)
            values = [HEADER, *([f"https://shop.example/s{n}/{i}", f"P{i}"] for i in range(rows))]
            self.sheets.append(self.world.google.create_spreadsheet(f"S{n}", {"Queue": values}))
        return self.sheets

    def add_row(self, sheet: str, key: str) -> str:
        """Type a new row at the top of `sheet`'s data; returns its url."""
        url = f"https://shop.example/{key}"
        self.world.google.insert_rows(sheet, "Queue", 2, values=[[url, key]])
        return url

    def configure(self, **google: Any) -> Path:
        """The config every instance runs: one row-mode watch per spreadsheet, budgets
        far above what the tests spend (the emulators enforce none), `google` overrides."""
        world = self.world
        world.spreadsheet_id = self.sheets[0]
        watches = [
            {"name": f"w{i}", "spreadsheet": sid, "mode": "row", "interval_seconds": INTERVAL}
            for i, sid in enumerate(self.sheets)
        ]
        state = {
            "url": self.url,
            "lease_seconds": LEASE,
            "renew_seconds": RENEW,
            "acquire_seconds": ACQUIRE,
        }
        key = str(world.folder / "service-account.json")
        budgets = {f"{k}_per_minute": 6000 for k in ("reads", "writes")}
        budgets |= {f"project_{k}_per_minute": 10_000 for k in ("reads", "writes")}
        return world.config(
            *watches,
            state=state,
            google={"service_account_file": key, **budgets, **google},
            axiom={"calls_per_minute": 6000},
        )

    def proxy(self) -> TcpProxy:
        """A proxy in front of the database (closed after the test)."""
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(self.url)
        made = TcpProxy((str(parts.get("host", "127.0.0.1")), int(str(parts.get("port") or 5432))))
        self.proxies.append(made)
        return made

    def start(
        self, name: str, *, proxy: TcpProxy | None = None, offset: float = 0, level: str = "DEBUG"
    ) -> Instance:
        """`sheetsync run` of the config, through `proxy` and `offset` s off the real clock,
        logging at `level` into `<name>.log` beside the config."""
        config = self.world.folder / "sheetsync.toml"
        if proxy is not None:
            text = config.read_text(encoding="utf-8")
            host = re.search(r"@([^/]+)/", self.url)
            assert host is not None
            config = self.world.folder / f"{name}.toml"
            config.write_text(text.replace(host.group(1), f"127.0.0.1:{proxy.port}"), "utf-8")
        env = {**os.environ, **self.world.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("NOTIFY_SOCKET", None)
        env.pop(CLOCK_OFFSET_ENV, None)
        if offset:
            env[CLOCK_OFFSET_ENV] = str(offset)
        log = self.world.folder / f"{name}.log"
        process = DaemonProcess(config, env, log, "--log-level", level)
        made = Instance(name, process)
        self.instances.append(made)
        return made

    def close(self) -> str:
        """Stop what is left (SIGCONT, then SIGKILL) and close proxies; returns the logs."""
        for instance in self.instances:
            if instance.alive():
                with contextlib.suppress(ProcessLookupError):
                    instance.resume()
                instance.kill()
        for made in self.proxies:
            made.close()
        return "\n".join(
            f"== {i.name} (pid {i.pid})\n{i.process.log()[-4000:]}" for i in self.instances
        )

    # -- what happened -------------------------------------------------------------
    def leases(self) -> dict[str, tuple[int | None, int]]:
        """Each spreadsheet -> (PID of its live holder or None, epoch)."""
        rows = query(
            self.url,
            "SELECT l.unit, i.pid, l.epoch FROM leases l LEFT JOIN instances i"
            " ON i.holder = l.holder AND l.holder <> '' AND l.expires_at > now()",
        )
        return {unit: (pid, epoch) for unit, pid, epoch in rows}

    def held_by(self, instance: Instance) -> list[str]:
        return sorted(u for u, (pid, _) in self.leases().items() if pid == instance.pid)

    def holder(self, sheet: str) -> Instance | None:
        pid = self.leases().get(sheet, (None, 0))[0]
        return next((i for i in self.instances if i.pid == pid and i.alive()), None)

    def statuses(self, sheet: str) -> dict[str, str]:
        """Row url -> its Status cell."""
        values = self.world.google.values(sheet, "Queue")
        if "Status" not in values[0]:
            return {row[0]: "" for row in values[1:] if row}
        col = values[0].index("Status")
        return {row[0]: (row[col] if col < len(row) else "") for row in values[1:] if row}

    def all_final(self, sheets: Iterable[str] | None = None) -> bool:
        return all(
            s in FINAL for sid in (sheets or self.sheets) for s in self.statuses(sid).values()
        )

    def sent(self) -> Counter[str]:
        """How often axiom received each row (by its url)."""
        return Counter(str(t.data[1][0]) for t in self.world.axiom.triggers)

    def reads_after(self, since: float) -> dict[str, float]:
        """Each spreadsheet's first read logged after `since` (`time.time()`), if any."""
        first: dict[str, float] = {}
        for request in self.world.google.requests_matching(r"values:batchGet$"):
            found = SHEET_ID.search(request.path)
            if found and request.at > since:
                first.setdefault(found.group(1), request.at)
        return first
