"""Child processes of the benchmark: each one's own wall time, peak RSS and CPU
(`Spawner`), a live one's CPU and memory (`sample`), and the machine they ran on."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CYCLE_LINE = re.compile(r"watch (?P<watch>\S+): (?P<seen>\d+) rows seen.* in (?P<s>[0-9.]+)s$")


@dataclass(frozen=True)
class ProcessRun:
    """One child process: wall time, peak RSS, CPU, exit code, what it logged."""

    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    exit_code: int
    stderr: str
    stdout: str

    def cycle_seconds(self) -> float | None:
        """The cycle time sheetsync logged (`... in 0.12s`), summed over watches."""
        found = [float(m["s"]) for m in map(CYCLE_LINE.search, self.messages()) if m]
        return sum(found) if found else None

    def messages(self) -> list[str]:
        """The `msg` of every JSON log line (plain lines as they are)."""
        out = []
        for line in self.stderr.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                out.append(line)
                continue
            out.append(str(event.get("msg", "")) if isinstance(event, dict) else line)
        return out


class Spawner:
    """The small helper process (`benchmarks/spawner.py`) that starts measured children."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-I", str(ROOT / "benchmarks" / "spawner.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()

    def run(self, argv: Sequence[str], env: Mapping[str, str]) -> ProcessRun:
        """Run a child to completion; its own peak RSS and CPU come from wait4()."""
        with tempfile.TemporaryDirectory(prefix="spawn-") as tmp, self._lock:
            out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
            job = {"argv": list(argv), "env": dict(env), "cwd": str(ROOT)}
            job.update(stdout=str(out), stderr=str(err))
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.write(json.dumps(job) + "\n")
            self._proc.stdin.flush()
            answer = json.loads(self._proc.stdout.readline())
            return ProcessRun(
                answer["seconds"],
                answer["max_rss_kb"] / 1024,
                answer["cpu_seconds"],
                answer["exit_code"],
                err.read_text(errors="replace"),
                out.read_text(errors="replace"),
            )

    def close(self) -> None:
        """Let the helper finish."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(10)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; always reaps the child."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class ProcSample:
    """CPU seconds (all threads) and memory of a live process, from /proc."""

    cpu_seconds: float
    rss_mb: float
    peak_rss_mb: float
    threads: int


def sample(pid: int) -> ProcSample:
    """CPU from /proc/PID/task/*/schedstat (ns), memory and threads from /proc/PID/status.

    schedstat counts nanoseconds on the CPU per thread; /proc/PID/stat's utime + stime
    counts 10 ms ticks, too coarse for an idle minute. Threads that ended are not in
    the sum, which is why the window starts after a warm-up.
    """
    nanos = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            nanos += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    status: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        status[key] = value.strip()
    rss, peak = (int(status.get(key, "0 kB").split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))
    return ProcSample(nanos / 1e9, rss, peak, int(status["Threads"]))


def machine() -> str:
    """One line naming the machine the figures come from."""
    cpu = ""
    meminfo = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        total = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        meminfo = f", {int(total) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return (
        f"{platform.platform()}; {os.cpu_count()} cores{f' ({cpu})' if cpu else ''}{meminfo}; "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )
