"""`sheetsync emulator`: what it prints, and its add-row, show and finish-run subcommands
against a running one (a real subprocess, as a person rehearsing would start it)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from sheetsync.service.cli import main

AUTOMATIONS = ("Scrape product page", "Enrich lead")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Served:
    """A running `sheetsync emulator`: its ports and what it printed until ready."""

    def __init__(self, google: int, axiom: int, printed: list[str]) -> None:
        self.google, self.axiom, self.printed = google, axiom, printed
        self.sheet = self.value("sample spreadsheet id:").split()[0]
        self.key_file = self.value("service-account file:")

    def value(self, label: str) -> str:
        (line,) = [line for line in self.printed if line.startswith(label)]
        return line[len(label) :].strip()

    def run(self, *args: str) -> tuple[int, str]:
        """A `sheetsync emulator ...` subcommand against it."""
        ports = ["--google-port", str(self.google), "--axiom-port", str(self.axiom)]
        result = CliRunner().invoke(main, ["emulator", *ports, *args], catch_exceptions=False)
        return result.exit_code, result.output

    def sheet_args(self) -> list[str]:
        return ["--sheet", self.sheet, "--service-account", self.key_file]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    google, axiom = free_port(), free_port()
    command = [sys.executable, "-m", "sheetsync", "emulator", "--google-port", str(google)]
    command += ["--axiom-port", str(axiom), "--key", "K"]
    for name in AUTOMATIONS:
        command += ["--automation", name]
    with subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            printed: list[str] = []
            while not printed or not printed[-1].startswith("end a run:"):
                line = proc.stdout.readline()
                assert line, f"the emulator ended early: {printed}"
                printed.append(line.rstrip("\n"))
            yield Served(google, axiom, printed)
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0


def test_emulator_prints_its_addresses_sheet_key_file_and_automations(
    served: Served, tmp_path: Path
) -> None:
    """What to put in the config: both URLs, the key, the sample sheet, the key file
    (written where it was started), every automation it accepts, and the subcommands."""
    assert served.value("Google Sheets emulator:").startswith(f"http://127.0.0.1:{served.google}")
    assert served.value("axiom emulator:").startswith(f"http://127.0.0.1:{served.axiom}")
    assert "key 'K'" in served.value("axiom emulator:")
    assert served.key_file == str(tmp_path / "emulator-service-account.json")
    assert Path(served.key_file).is_file()
    assert served.value("automations accepted:") == "'Scrape product page', 'Enrich lead'"
    assert [line.split(":")[0] for line in served.printed[-3:]] == [
        "add a row",
        "show it",
        "end a run",
    ]


def test_add_row_and_show_go_through_the_sheets_api(served: Served) -> None:
    """add-row types below the last row (growing the grid as needed); show prints every
    row, numbered, tab-separated."""
    code, output = served.run("add-row", *served.sheet_args(), "https://example.com/2", "two")
    assert (code, output) == (0, "row 3 added\n")
    code, output = served.run("show", *served.sheet_args())
    assert code == 0, output
    assert output.splitlines() == [
        "1\turl",
        "2\thttps://example.com/1",
        "3\thttps://example.com/2\ttwo",
    ]
    code, output = served.run("show", "--sheet", "nosuch", "--service-account", served.key_file)
    assert code == 1 and len(output.splitlines()) == 1, output
    assert output.startswith("sheetsync: emulator: spreadsheet nosuch: not found"), output


def test_finish_run_ends_the_oldest_running_run(served: Served) -> None:
    """A triggered run stays running until finish-run ends it; /run-data then reports
    it; with none left running, finish-run is one line, exit 1."""
    base = f"http://127.0.0.1:{served.axiom}/api/v3"
    with requests.Session() as http:
        started = http.post(f"{base}/trigger", json={"key": "K", "name": AUTOMATIONS[1]}, timeout=5)
        assert started.status_code == 200, started.text
        code, output = served.run("finish-run", AUTOMATIONS[1], "--status", "Failure")
        assert (code, output) == (0, "run of 'Enrich lead' ended: Failure\n")
        data = http.post(f"{base}/run-data", json={"key": "K", "name": AUTOMATIONS[1]}, timeout=5)
        assert "Failure" in data.text, data.text
    code, output = served.run("finish-run", AUTOMATIONS[1])
    assert code == 1, output
    assert output == "sheetsync: emulator: no running run of 'Enrich lead'\n", output
