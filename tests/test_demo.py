"""`sheetsync demo` reads well in an 80-column terminal and never ends in a traceback."""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from rich.console import Console

from sheetsync.emulator.google import GoogleEmulator
from sheetsync.service import demo
from sheetsync.service.cli import main


def test_demo_table_fits_80_columns_with_whole_statuses_and_full_messages() -> None:
    """At 80 columns: every line fits, row numbers and statuses are whole, messages in full."""
    out = io.StringIO()
    demo.run_demo(rows=8, console=Console(file=out, width=80, color_system=None))
    after = out.getvalue().split("The sheet after", 1)[1]
    assert all(len(line) <= 80 for line in after.splitlines()), after
    rows = [line for line in after.splitlines() if re.match(r"^│\s*\d+ │", line)]
    numbers = [int(line.split("│")[1]) for line in rows]
    assert set(range(2, 11)) <= set(numbers), after
    assert after.count("triggered") >= 6 and "queued" in after and "│ error" in after, after
    assert re.search(r"row \d+ Message: Task not found, please check the name and try again", after)


def test_demo_failure_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """An expected failure (here: no free port) ends in one line and exit 1."""

    def no_port(self: object) -> str:
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(GoogleEmulator, "start", no_port)
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "Address already in use" in result.output


def test_example_config_adds_no_columns_nobody_asked_for() -> None:
    """Copied as it is, the example adds only sheetsync's own columns, not `Triggered at` or
    `Run status` (which stay empty without track_runs)."""
    from pathlib import Path

    from sheetsync.config import load_config
    from sheetsync.core.layout import map_header

    example = Path(__file__).resolve().parent.parent / "config" / "sheetsync.example.toml"
    watch = load_config(example, {}, secrets=False).watch[0]
    layout = map_header(["url", "sku"], watch, 2)
    assert layout.added == ("Status", "Run link", "Message", "sheetsync id"), layout.added


def test_demo_sheet_that_does_not_settle_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Google refusing every write: the demo sheet never shows results; the demo ends
    with one line saying so, exit 1, no traceback (injected: a 403 on every write, and
    a short settle wait instead of a minute)."""
    start = GoogleEmulator.start

    def refusing_writes(self: GoogleEmulator) -> str:
        url = start(self)
        self.add_fault(path=r"values:batchUpdate$", status=403)
        return url

    monkeypatch.setattr(GoogleEmulator, "start", refusing_writes)
    monkeypatch.setattr(demo, "SETTLE_TIMEOUT", 0.5)
    result = CliRunner().invoke(main, ["demo", "--rows", "2"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    assert result.output.splitlines()[-1] == (
        "sheetsync: demo: the sheet did not settle; see the log above"
    ), result.output
