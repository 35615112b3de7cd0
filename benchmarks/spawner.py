"""Runs child processes for the benchmark and reports each one's own peak RSS and CPU.

Why a separate small process: Linux keeps the RSS high-water mark of the memory a process
had before exec() in its `ru_maxrss`, and Python starts children with vfork(), so a
child started by the benchmark (which holds the emulators' big sheets) would report the
benchmark's peak as its own. Children started from this small process inherit at most
its few megabytes. Standard library only, on purpose.

Protocol: one JSON job per line on stdin (argv, env, cwd, stdout, stderr file paths),
one JSON answer per line on stdout (seconds, max_rss_kb, cpu_seconds, exit_code).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> None:
    """Serve jobs until stdin closes."""
    for line in sys.stdin:
        job = json.loads(line)
        with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
            began = time.perf_counter()
            proc = subprocess.Popen(
                job["argv"],
                cwd=job["cwd"],
                env=job["env"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        answer = {
            "seconds": seconds,
            "max_rss_kb": usage.ru_maxrss,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "exit_code": proc.returncode,
        }
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
