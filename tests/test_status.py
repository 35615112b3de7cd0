"""`sheetsync status` answers "what happened to row 57?", literally and for scripts."""

from __future__ import annotations

import json

from click.testing import CliRunner

from sheetsync.service.cli import main
from sheetsync.testing import AUTOMATION, World

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


def rows_at(world: World, config: str, *args: str) -> list[tuple[int, str]]:
    """`status --json` with `args`: (row number, inputs) of each row it lists."""
    code, output = invoke(world, "status", "-c", config, "--json", *args)
    assert code == 0, output
    (watch,) = json.loads(output)["watches"]
    return [(r["row"], r["inputs"]) for r in watch["rows"]]


def test_status_row_is_where_sheetsync_last_wrote_the_row(world: World) -> None:
    """Rows inserted above handled rows: once a cycle writes those rows (their run status
    here), --row finds each one; so it does a result the flush wrote below a row inserted
    while its trigger was out."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"]])
    config = str(world.config({"track_runs": True, "mode": "batch"}))
    world.once()
    world.axiom.set_run_statuses(AUTOMATION, ["Success"])
    world.google.insert_rows(world.spreadsheet_id, "Queue", 2, values=[["https://new", "N"]])
    world.clock.advance(60)
    world.once()  # writes the run's end into rows 3 and 4, triggers row 2
    world.close_runtime()
    assert world.column("Run status") == ["running", "success", "success"]
    assert rows_at(world, config, "--row", "2") == [(2, "https://new | N")]
    assert rows_at(world, config, "--row", "3") == [(3, "https://a | A")]
    assert rows_at(world, config, "--row", "4") == [(4, "https://b | B")]
    world.google.insert_rows(world.spreadsheet_id, "Queue", 5, values=[["https://late", "L"]])
    inserted = lambda: world.google.insert_rows(world.spreadsheet_id, "Queue", 2)  # noqa: E731
    world.once_while_held(inserted)  # claimed at row 5, its result written at row 6
    world.close_runtime()
    assert world.column("url")[4] == "https://late"
    assert rows_at(world, config, "--row", "6") == [(6, "https://late | L")]


def test_status_id_finds_a_row_however_rows_moved(world: World) -> None:
    """--id ID (the `sheetsync id` cell) finds the row exactly, also after a sort."""
    world.sheet([HEADER, ["https://b", "B"], ["https://a", "A"]])
    config = str(world.config())
    world.once()
    world.close_runtime()
    world.google.sort(world.spreadsheet_id, "Queue", 1)
    assert world.column("url") == ["https://a", "https://b"]
    row_id = world.row(2)["sheetsync id"]
    assert [inputs for _, inputs in rows_at(world, config, "--id", row_id)] == ["https://a | A"]
    assert rows_at(world, config, "--id", "nosuchid") == []


def test_status_counts_settling_and_waiting_rows(world: World) -> None:
    """A row still settling (settle_seconds) and rows waiting on a rejected key: both
    counted, in JSON and in the text line."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"]])
    config = str(world.config({"settle_seconds": 30}))
    world.axiom.set_key_valid(False)
    world.once()  # both rows are new: they settle first
    world.clock.advance(31)
    world.google.insert_rows(world.spreadsheet_id, "Queue", 4, values=[["https://c", "C"]])
    world.once()  # rows 2-3 settled: sent, refused, waiting; row 4 settles
    world.close_runtime()
    assert world.column("Status") == ["waiting", "waiting", ""]
    _, output = invoke(world, "status", "-c", config, "--json")
    (watch,) = json.loads(output)["watches"]
    assert (watch["held"], watch["settling"], watch["waiting"]) == (0, 1, 2), watch
    assert watch["counts"] == {"waiting": 2}, watch
    _, output = invoke(world, "status", "-c", config)
    assert "2 waiting (retried by sheetsync), 1 settling at the last cycle" in output, output


def test_status_watch_shows_only_that_watch_and_refuses_an_unknown_one(world: World) -> None:
    """--watch NAME: that watch's counts and rows alone; a name not in the config is one
    line naming the config file, exit 2."""
    world.sheet([HEADER, ["https://a", "A"]])
    world.google.add_sheet(world.spreadsheet_id, "Other", [HEADER, ["https://o", "O"]])
    world.axiom.script(["started", "error"])
    config = str(world.config({"name": "queue"}, {"name": "other", "worksheet": "Other"}))
    world.once()
    world.close_runtime()
    code, output = invoke(world, "status", "-c", config, "--watch", "other")
    assert code == 0, output
    assert "watch other (Other): 1 rows:" in output, output
    assert "watch queue" not in output and "https://a" not in output, output
    assert "https://o | O" in output, output
    _, output = invoke(world, "status", "-c", config, "--json", "--watch", "queue")
    assert [w["watch"] for w in json.loads(output)["watches"]] == ["queue"]
    code, output = invoke(world, "status", "-c", config, "--watch", "nosuch")
    assert code == 2, output
    assert output.strip().splitlines() == [f"sheetsync: {config}: no watch named 'nosuch'"], output
