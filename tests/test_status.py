"""`sheetsync status` answers "what happened to row 57?", literally and for scripts."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sheetsync.cli import main
from sheetsync.testing import World

HEADER = ["url", "product"]


def invoke(world: World, *args: str) -> tuple[int, str]:
    env = {**world.environ, "COLUMNS": "200"}  # one table line per row, to read it back
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_status_shows_rows_with_number_inputs_outcome_and_filters(world: World) -> None:
    """Rows by number with their first inputs and outcome; --state, --row, --limit, --json."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"], ["https://c", "C"]])
    world.axiom.script(["started", "error", "started"])
    config = world.config()
    invoke(world, "once", "-c", str(config))
    code, output = invoke(world, "status", "-c", str(config), "--state", "error")
    assert code == 0, output
    assert "https://b | B" in output and "Task not found" in output
    assert "https://a" not in output and "https://c" not in output
    code, output = invoke(world, "status", "-c", str(config), "--json", "--row", "4")
    document = json.loads(output)
    (rows,) = [w["rows"] for w in document["watches"]]
    found = [(r["row"], r["inputs"], r["status"]) for r in rows]
    assert found == [(4, "https://c | C", "triggered")]
    assert rows[0]["link"].startswith("http") and rows[0]["row_id"]
    code, output = invoke(world, "status", "-c", str(config), "--json", "--limit", "2")
    assert len(json.loads(output)["watches"][0]["rows"]) == 2
    assert json.loads(output)["watches"][0]["counts"] == {"error": 1, "triggered": 2}


def test_status_counts_rows_held_by_max_in_flight_and_waiting(world: World) -> None:
    """Rows held back by max_in_flight (not in the journal) and waiting rows are counted."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"], ["https://c", "C"]])
    config = world.config({"track_runs": True, "max_in_flight": 1})
    invoke(world, "once", "-c", str(config))
    _, output = invoke(world, "status", "-c", str(config), "--json")
    (watch,) = json.loads(output)["watches"]
    assert (watch["held"], watch["settling"], watch["waiting"]) == (2, 0, 0), watch
    _, output = invoke(world, "status", "-c", str(config))
    assert "2 held by max_in_flight" in output, output


def test_status_prints_hostile_text_literally(world: World) -> None:
    """Markup-like text and terminal escapes from axiom and the sheet are shown, not obeyed."""
    world.sheet([HEADER, ["https://a", "[red]A[/x]"]], tab="Queue[/x]")
    hostile = "Task [/bold] not found \x1b[2J\x1b]0;pwned\x07 done"
    body = {"status": "error", "message": hostile}
    world.axiom.add_fault(path="/trigger$", status=404, body=body)
    config = world.config()
    invoke(world, "once", "-c", str(config))
    code, output = invoke(world, "status", "-c", str(config))
    assert code == 0, output
    assert "Queue[/x]" in output and "[red]A[/x]" in output
    assert "Task [/bold] not found" in output
    assert "\x1b" not in output and "\x07" not in output
    assert "\\x1b[2J" in output
