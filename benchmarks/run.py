"""sheetsync's benchmarks against the local emulators: `python -m benchmarks.run [--quick]`.

Also runs as `python benchmarks/run.py`. Not part of the test suite: it prints figures
and the issue's targets beside them; see `benchmarks/suite.py` for what it measures.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark suite."""
    from benchmarks.suite import main as run_suite

    return run_suite(argv)


if __name__ == "__main__":
    sys.exit(main())
