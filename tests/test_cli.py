"""The public command line: exit codes and output of once, check, status, demo."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner

from sheetsync.service.cli import main
from sheetsync.testing import World

HEADER = ["url", "product"]


def invoke(world: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=world.environ, catch_exceptions=False)
    return result.exit_code, result.output


def test_help_lists_every_command() -> None:
    """`sheetsync --help` names all public commands."""
    result = CliRunner().invoke(main, ["--help"])
    for command in ("run", "once", "check", "status", "demo", "emulator"):
        assert command in result.output


def test_once_exit_codes(world: World) -> None:
    """once: 0 when every cycle worked, 1 when one failed, 2 for a config error."""
    world.sheet([HEADER, ["https://a", "A"]])
    config = world.config()
    assert invoke(world, "once", "-c", str(config))[0] == 0
    assert world.column("Status") == ["triggered"]
    world.config({"worksheet": "Missing tab"})
    code, output = invoke(world, "once", "-c", str(config))
    assert code == 1 and "'Missing tab'" in output
    config.write_text(config.read_text() + "\nbogus = 1\n")
    code, output = invoke(world, "once", "-c", str(config))
    assert code == 2 and "bogus: unknown key" in output


def test_check_exit_codes_and_no_writes(world: World) -> None:
    """check: 0 when all is well, 2 for a key file others can read; it writes nothing."""
    world.sheet([HEADER, ["https://a", "A"]])
    config = world.config()
    world.google.reset_counters()
    code, output = invoke(world, "check", "-c", str(config))
    assert code == 0, output
    assert "the next cycle would trigger 1 row(s)" in output
    assert world.google.writes() == 0 and world.axiom.triggers == []
    os.chmod(world.folder / "service-account.json", 0o644)
    code, output = invoke(world, "check", "-c", str(config))
    assert code == 2 and "readable by others" in output


def test_status_shows_states_and_journal(world: World) -> None:
    """status lists rows by state and the latest journal lines of each watch."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"]])
    world.axiom.script(["started", "error"])
    config = world.config()
    invoke(world, "once", "-c", str(config))
    code, output = invoke(world, "status", "-c", str(config))
    assert code == 0
    assert "1 error" in output and "1 triggered" in output
    assert "Task not found" in output


def test_demo_runs_offline_and_shows_the_lifecycle() -> None:
    """`sheetsync demo` exits 0 and shows triggered rows with links, a queued and an error."""
    result = subprocess.run(
        [sys.executable, "-m", "sheetsync", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"},
    )
    assert result.returncode == 0, result.stderr
    after = result.stdout.split("The sheet after", 1)[1]
    assert after.count("triggered") >= 10
    assert "queued" in after and "error" in after and "axiom.ai" in after
