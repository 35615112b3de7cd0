"""The foundation loop end to end: real gspread and requests against both emulators."""

from __future__ import annotations

import pytest

from sheetsync.emulator._http import Request, wants_gzip
from sheetsync.testing import AUTOMATION, World

HEADER = ["url", "product"]


def rows(n: int) -> list[list[str]]:
    return [[f"https://shop.example/p/{i}", f"Product {i}"] for i in range(1, n + 1)]


def test_row_mode_triggers_each_new_row_once(world: World) -> None:
    """Five new rows give five triggers of [header, row] and a link on every row."""
    world.sheet([HEADER, *rows(5)])
    world.config({"mode": "row"})
    [report] = world.once()
    assert report.error is None
    assert world.payloads() == [[HEADER, r] for r in rows(5)]
    assert [t.name for t in world.axiom.triggers] == [AUTOMATION] * 5
    assert world.column("Status") == ["triggered"] * 5
    links = world.column("Run link")
    assert all(link.startswith("https://") for link in links)
    assert len(set(links)) == 5
    assert world.values()[0][:5] == [*HEADER, "Status", "Run link", "Message"]


def test_second_cycle_sends_nothing_and_writes_nothing(world: World) -> None:
    """After the rows are done, another cycle costs one read and nothing else."""
    world.sheet([HEADER, *rows(5)])
    world.config()
    world.once()
    world.google.reset_counters()
    before = world.values()
    [report] = world.once()
    assert report.new == 0
    assert len(world.axiom.triggers) == 5
    assert world.google.writes() == 0
    assert world.google.count("values.batchGet") == 1
    assert world.values() == before


def test_sheets_answers_come_gzipped(world: World) -> None:
    """Every Sheets call asks for gzip the way Google wants it (Accept-Encoding and a
    User-Agent saying gzip): a 100,000-row tab's columns are 3 MB of JSON, 250 KB gzipped."""
    asked: list[Request] = []
    world.google.on_request = asked.append
    world.sheet([HEADER, *rows(3)])
    world.config()
    world.once()
    sheets = [r for r in asked if r.path.startswith("/v4/")]
    assert len(sheets) >= 3
    assert all(wants_gzip(r.headers) for r in sheets), [r.headers for r in sheets]


def test_batch_mode_sends_one_trigger_with_every_row(world: World) -> None:
    """Batch mode: one trigger carrying the header and all five rows; all marked."""
    world.sheet([HEADER, *rows(5)])
    world.config({"mode": "batch"})
    world.once()
    assert world.payloads() == [[HEADER, *rows(5)]]
    assert world.column("Status") == ["triggered"] * 5
    assert len(set(world.column("Run link"))) == 1


def test_tables_shape_and_no_header(world: World) -> None:
    """data_shape = tables wraps the table; include_header = false drops the header."""
    world.sheet([HEADER, *rows(2)])
    world.config({"mode": "batch", "data_shape": "tables", "include_header": False})
    world.once()
    assert world.payloads() == [[rows(2)]]


def test_max_rows_per_trigger_splits_batches(world: World) -> None:
    """Batch mode honours max_rows_per_trigger."""
    world.sheet([HEADER, *rows(5)])
    world.config({"mode": "batch", "max_rows_per_trigger": 2})
    world.once()
    assert [len(p) - 1 for p in world.payloads()] == [2, 2, 1]


def test_queued_and_error_answers_land_in_status_and_message(world: World) -> None:
    """Queued and error responses put their word in status and axiom's text in message."""
    world.sheet([HEADER, *rows(3)])
    world.axiom.script(["started", "queued", "error"])
    world.config()
    world.once()
    assert world.column("Status") == ["triggered", "queued", "error"]
    messages = world.column("Message")
    assert messages[0] == ""
    assert "queued" in messages[1]
    assert messages[2] == "Task not found, please check the name and try again."


def test_200_rows_batch_cycle_costs_two_reads_two_writes(world: World) -> None:
    """A cycle with work costs at most two batched reads and two batched writes."""
    world.sheet([HEADER, *rows(200)])
    world.config({"mode": "batch", "max_rows_per_trigger": 500})
    world.once()  # the first cycle also fetches metadata once to grow the grid
    assert world.google.count("values.batchGet") == 2
    assert world.google.count("values.batchUpdate") == 2
    assert world.google.count("values.get") + world.google.count("values.update") == 0
    assert len(world.axiom.triggers) == 1
    assert world.column("Status") == ["triggered"] * 200


def test_rows_with_a_status_are_untouched_and_retry_resends(world: World) -> None:
    """A row someone already marked is left alone; `retry` sends a row again."""
    world.sheet([[*HEADER, "Status"], ["https://a", "A", "done by hand"], ["https://b", "B"]])
    world.config()
    world.once()
    assert world.payloads() == [[HEADER, ["https://b", "B"]]]
    assert world.row(2)["Status"] == "done by hand"
    status_col = world.values()[0].index("Status") + 1
    world.google.set_cell(world.spreadsheet_id, "Queue", 3, status_col, "retry")
    world.once()
    assert world.payloads() == [[HEADER, ["https://b", "B"]]] * 2
    assert world.row(3)["Status"] == "triggered"
    assert world.row(2)["Status"] == "done by hand"


def test_formula_like_text_is_written_raw(world: World) -> None:
    """An error message that looks like a formula lands as text, never evaluated."""
    formula = '=IMPORTXML("http://x","//a")'
    world.sheet([HEADER, *rows(1)])
    world.axiom.add_fault(
        path="/trigger", status=404, count=1, body={"status": "error", "message": formula}
    )
    world.config()
    world.once()
    assert world.row(2)["Message"] == formula
    assert world.row(2)["Status"] == "error"
    writes = world.google.requests_matching(r"values:batchUpdate$")
    assert writes and all(b'"valueInputOption": "RAW"' in w.body for w in writes)


def test_huge_and_non_ascii_cells_round_trip(world: World) -> None:
    """A 50,000-character cell and non-ASCII text are sent and written back intact."""
    huge = "x" * 50_000
    world.sheet([HEADER, [huge, "ünïcødé ✓ 价格 €"]])
    world.axiom.add_fault(
        path="/trigger",
        status=404,
        count=1,
        phase="after",
        body={"status": "error", "message": "ошибка " + huge},
    )
    world.config()
    world.once()
    assert world.payloads() == [[HEADER, [huge, "ünïcødé ✓ 价格 €"]]]
    message = world.row(2)["Message"]
    assert len(message) <= 50_000  # a cell holds at most 50,000 characters
    assert message.startswith("ошибка xxx")
    assert world.row(2)["url"] == huge


def test_rows_are_padded_and_columns_found_by_name(world: World) -> None:
    """Columns may be in any order; short rows are padded to the header width."""
    world.sheet([["Status", "url", "Message", "product"], ["", "https://a"]])
    world.config()
    world.once()
    assert world.payloads() == [[HEADER, ["https://a", ""]]]
    assert world.row(2)["Status"] == "triggered"


def test_missing_result_column_fails_when_not_allowed_to_add(world: World) -> None:
    """add_missing_columns = false: a one-line error names the worksheet and column."""
    world.sheet([HEADER, *rows(1)])
    world.config({"add_missing_columns": False})
    [report] = world.once()
    assert report.error is not None
    assert "'Queue'" in report.error and "'Status'" in report.error
    assert "\n" not in report.error
    assert world.axiom.triggers == []


def test_missing_input_column_fails_and_other_watches_go_on(world: World) -> None:
    """A watch naming an absent input column fails; the next watch still runs."""
    world.sheet([HEADER, *rows(2)])
    world.config({"name": "broken", "input_columns": ["url", "price"]}, {"name": "fine"})
    broken, fine = world.once()
    assert broken.error is not None and "'price'" in broken.error and "'Queue'" in broken.error
    assert fine.error is None and fine.triggered == 2


@pytest.mark.parametrize("ready", ["TRUE", "yes", "x", "✓"])
def test_ready_column_gates_rows(world: World, ready: str) -> None:
    """Only rows whose ready cell is truthy are sent."""
    world.sheet([[*HEADER, "Ready"], ["https://a", "A", ready], ["https://b", "B", ""]])
    world.config({"ready_column": "Ready"})
    world.once()
    assert world.payloads() == [[HEADER, ["https://a", "A"]]]
