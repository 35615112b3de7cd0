"""values:batchUpdate in the Google emulator: all or nothing without copying the book,
and reads that match the plain grid-then-transpose reading they replaced.

Requests go through `GoogleEmulator.handle` in-process (auth, lock, errors as HTTP
answers) with a token planted in the emulator; no socket is needed.
"""

from __future__ import annotations

import json
import random
import threading
from typing import Any
from urllib.parse import quote

import pytest

from sheetsync.emulator import google_value_writes, google_values
from sheetsync.emulator._http import Request, Response
from sheetsync.emulator.google import GoogleEmulator
from sheetsync.emulator.google_a1 import ApiError
from sheetsync.emulator.google_auth import SHEETS_WRITE, Grant
from sheetsync.emulator.google_cells import DateValue, Formula, render
from sheetsync.emulator.grid import Book, Bounds
from sheetsync.emulator.tab import Row, Sheet

TOKEN = "test-token"
SEED = {"Tab": [["url", "Status"], ["https://a", ""], ["https://b", "done"]], "Other": [["x"]]}


def emulator(max_cells: int = 10_000_000) -> tuple[GoogleEmulator, str]:
    emu = GoogleEmulator(max_cells=max_cells)
    emu.tokens[TOKEN] = Grant(TOKEN, "robot@example.com", SHEETS_WRITE, None)
    return emu, emu.create_spreadsheet("Book", SEED, rows=20, cols=4)


def call(emu: GoogleEmulator, method: str, path: str, body: Any = None, **query: str) -> Response:
    request = Request(
        method,
        path,
        {k: [v] for k, v in query.items()},
        {"authorization": f"Bearer {TOKEN}"},
        b"" if body is None else json.dumps(body).encode(),
    )
    return emu.handle(request)


def batch(emu: GoogleEmulator, sid: str, data: list[Any], **extra: Any) -> Response:
    body = {"valueInputOption": "RAW", "data": data, **extra}
    return call(emu, "POST", f"/v4/spreadsheets/{sid}/values:batchUpdate", body)


def snapshot(book: Book) -> list[list[list[Any]]]:
    return [[list(r.cells) for r in s.rows] for s in book.sheets]


BAD_SECOND = [
    pytest.param({"range": "Tab!B21", "values": [["x"]]}, "exceeds grid limits", id="past-grid"),
    pytest.param({"range": "Tab!D1", "values": [["x", "y"]]}, "exceeds grid", id="block-past"),
    pytest.param({"range": "Nope!A1", "values": [["x"]]}, "Unable to parse", id="unknown-tab"),
    pytest.param(
        {"range": "Tab!A1:B1", "values": [["a"], ["b"]]}, "tried writing to row", id="too-tall"
    ),
    pytest.param({"range": "Tab!C1", "values": [["x" * 50_001]]}, "maximum", id="too-long"),
    pytest.param({"range": "Tab!C1", "values": [[{"a": 1}]]}, "not a scalar", id="not-scalar"),
    pytest.param({"range": "Tab!C1", "values": "x"}, "list of lists", id="not-lists"),
    pytest.param({"values": [["x"]]}, "needs a range", id="no-range"),
    pytest.param(
        {"range": "Tab!C1", "majorDimension": "DIAGONAL", "values": [["x"]]},
        "majorDimension",
        id="bad-major",
    ),
]


@pytest.mark.parametrize(("second", "message"), BAD_SECOND)
def test_invalid_second_range_leaves_the_first_unwritten(second: Any, message: str) -> None:
    """Google applies a values:batchUpdate atomically: one bad ValueRange writes nothing."""
    emu, sid = emulator()
    before, modified = snapshot(emu.book(sid)), emu.modified_time(sid)
    answer = batch(emu, sid, [{"range": "Tab!B2", "values": [["sent"]]}, second])
    assert answer.status == 400
    assert isinstance(answer.body, dict) and message in answer.body["error"]["message"]
    assert emu.cell(sid, "Tab", 2, 2) == ""
    assert snapshot(emu.book(sid)) == before
    assert emu.modified_time(sid) == modified


def test_batch_update_by_data_filter_is_all_or_nothing() -> None:
    emu, sid = emulator()
    before = snapshot(emu.book(sid))
    body = {
        "valueInputOption": "RAW",
        "data": [
            {"dataFilter": {"a1Range": "Tab!B2"}, "values": [["sent"]]},
            {"dataFilter": {"a1Range": "Tab!A1:B1"}, "values": [["a"], ["b"]]},
        ],
    }
    path = f"/v4/spreadsheets/{sid}/values:batchUpdateByDataFilter"
    assert call(emu, "POST", path, body).status == 400
    assert snapshot(emu.book(sid)) == before
    body["data"] = body["data"][:1]
    answer = call(emu, "POST", path, body)
    assert answer.status == 200 and isinstance(answer.body, dict)
    assert answer.body["responses"][0]["dataFilter"] == {"a1Range": "Tab!B2"}
    assert emu.cell(sid, "Tab", 2, 2) == "sent"


def test_batch_writes_are_visible_to_the_next_read() -> None:
    emu, sid = emulator()
    modified = emu.modified_time(sid)
    data = [
        {"range": "Tab!B2", "values": [["sent"]]},
        {"range": "'Other'!A2:A3", "majorDimension": "COLUMNS", "values": [["p", "q"]]},
        {"range": "Tab!C2:D3", "values": [[1, True], [None, "z"]]},
    ]
    answer = batch(emu, sid, data)
    assert answer.status == 200 and isinstance(answer.body, dict)
    assert answer.body["totalUpdatedCells"] == 6 and answer.body["totalUpdatedSheets"] == 2
    assert emu.modified_time(sid) > modified
    got = call(emu, "GET", f"/v4/spreadsheets/{sid}/values/{quote('Tab!A1:D3')}")
    assert isinstance(got.body, dict)
    tab = [["url", "Status"], ["https://a", "sent", "1", "TRUE"], ["https://b", "done", "", "z"]]
    assert got.body["values"] == tab
    got = call(
        emu,
        "GET",
        f"/v4/spreadsheets/{sid}/values/{quote('Other!A:A')}",
        majorDimension="COLUMNS",
    )
    assert isinstance(got.body, dict) and got.body["values"] == [["x", "p", "q"]]
    assert emu.values(sid, "Tab") == tab


def test_later_ranges_overwrite_earlier_ones_and_answers_show_the_batch_so_far() -> None:
    emu, sid = emulator()
    data = [
        {"range": "Tab!A5:B5", "values": [["a", "b"]]},
        {"range": "Tab!B5:C5", "values": [["B", "C"]]},
    ]
    answer = batch(emu, sid, data, includeValuesInResponse=True)
    assert isinstance(answer.body, dict)
    first, second = answer.body["responses"]
    assert first["updatedData"]["values"] == [["a", "b"]]
    assert second["updatedData"]["values"] == [["B", "C"]]
    assert emu.values(sid, "Tab")[4] == ["a", "B", "C"]


def test_the_answer_covers_the_whole_requested_range_nulls_included() -> None:
    """Google: "If the range to write was larger than the range actually written, the
    response includes all values in the requested range" (trailing empties trimmed)."""
    emu, sid = emulator()
    emu.set_values(sid, "Tab", [["url", "Status", "Note"], ["https://a", "", "keep"]])
    data = [{"range": "Tab!A2:D2", "values": [[None, "sending"]]}]
    answer = batch(emu, sid, data, includeValuesInResponse=True)
    assert isinstance(answer.body, dict)
    [written] = answer.body["responses"]
    assert written["updatedData"]["range"] == "Tab!A2:D2"
    assert written["updatedData"]["values"] == [["https://a", "sending", "keep"]]
    assert written["updatedCells"] == 1


def test_cell_limit_is_still_checked() -> None:
    """A grid a person grew past the limit refuses API writes, as the copy path did."""
    emu, sid = emulator(max_cells=2 * 20 * 4 + 8)  # two 20x4 tabs and 8 spare cells
    emu.set_cell(sid, "Tab", 30, 1, "grown")
    before = snapshot(emu.book(sid))
    answer = batch(emu, sid, [{"range": "Tab!B2", "values": [["sent"]]}])
    assert answer.status == 400 and isinstance(answer.body, dict)
    assert "above the limit of 168 cells" in answer.body["error"]["message"]
    assert snapshot(emu.book(sid)) == before


def test_a_failure_while_applying_is_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Belt and braces: should applying fail after checking, earlier writes are undone."""
    emu, sid = emulator()
    book = emu.book(sid)
    book.sheets[0].rows[1].set(3, "tail")
    before = snapshot(book)
    body = {
        "valueInputOption": "RAW",
        "includeValuesInResponse": True,
        "data": [
            {"range": "Tab!A2:D2", "values": [["new", "", "c", ""]]},
            {"range": "Tab!D9", "values": [["x"]]},
        ],
    }
    writes = google_value_writes.plan_batch_update(book, body)
    calls = []

    def failing_read(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return {}

    monkeypatch.setattr(google_value_writes, "read", failing_read)
    with pytest.raises(RuntimeError):
        google_value_writes.apply_batch(book, writes)
    assert snapshot(book) == before


@pytest.mark.parametrize(
    ("rng", "values", "status"),
    [("Tab!B2:C3", [["x", "y"], ["z", ""]], 200), ("Tab!D20", [["x", "y"]], 400)],
)
def test_values_update_writes_in_place_or_not_at_all(
    rng: str, values: list[list[str]], status: int
) -> None:
    """values.update (the naive loop's update_cell) checks first, then writes the same
    book, never a copy of it; a refused write changes nothing."""
    emu, sid = emulator()
    book = emu.book(sid)
    before = snapshot(book)
    path = f"/v4/spreadsheets/{sid}/values/{quote(rng)}"
    answer = call(emu, "PUT", path, {"values": values}, valueInputOption="RAW")
    assert answer.status == status
    assert emu.book(sid) is book
    if status == 400:
        assert snapshot(book) == before
    else:
        assert [[r.get(1), r.get(2)] for r in book.sheets[0].rows[1:3]] == [["x", "y"], ["z", None]]


def test_a_batch_is_never_seen_half_written() -> None:
    """Readers (people helpers, other requests) take the emulator's lock like requests do."""
    emu, sid = emulator()
    stop = threading.Event()
    torn: list[list[str]] = []

    def reader() -> None:
        while not stop.is_set():
            lines = emu.values(sid, "Tab")
            line = lines[3] if len(lines) > 3 else []
            if line and line[0] != line[1]:
                torn.append(line)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(300):
            data = [{"range": "Tab!A4", "values": [[n]]}, {"range": "Tab!B4", "values": [[n]]}]
            assert batch(emu, sid, data).status == 200
    finally:
        stop.set()
        thread.join()
    assert torn == []


# -- differential: the old copy-then-loop batch and the old grid-then-transpose read ---
def reference_batch(book: Book, body: dict[str, Any]) -> dict[str, Any]:
    """values:batchUpdate as it was: each range written in turn (on a copy of the book)."""
    opts = google_values.Options(
        user_entered=google_values.input_option(body.get("valueInputOption")),
        include_values=google_values.truthy(body.get("includeValuesInResponse")),
        response_render=google_values.check_render(body.get("responseValueRenderOption")),
    )
    responses = []
    for item in body.get("data") or []:
        if not isinstance(item, dict) or not isinstance(item.get("range"), str):
            raise ApiError(400, "Invalid data: every ValueRange needs a range.", "INVALID_ARGUMENT")
        item_opts = google_values.Options(
            google_values.check_major(item.get("majorDimension")),
            user_entered=opts.user_entered,
            include_values=opts.include_values,
            response_render=opts.response_render,
        )
        write = google_value_writes.plan_update(book, item["range"], item.get("values"), item_opts)
        responses.append(google_value_writes.apply_update(book, write))
    return google_value_writes._totals(book, responses)


RANGES = ["Tab!A1", "Tab!B2:C3", "Tab!A:A", "Tab!C5:D", "Tab!D20", "Other!A1:D1", "Tab!A21"]
VALUES = [[["x"]], [["a", None], ["", 2]], [["=1+2", "TRUE", "2024-01-02"]], [[1], [2], [3]]]


def test_batches_answer_exactly_as_the_copying_batch_did() -> None:
    rnd = random.Random(7)
    emu, sid = emulator()
    for _ in range(200):
        data = [
            {
                "range": rnd.choice(RANGES),
                "values": rnd.choice(VALUES),
                "majorDimension": rnd.choice(["ROWS", "COLUMNS"]),
            }
            for _ in range(rnd.randint(1, 3))
        ]
        body = {
            "valueInputOption": rnd.choice(["RAW", "USER_ENTERED"]),
            "includeValuesInResponse": rnd.random() < 0.5,
            "data": data,
        }
        copy = emu.book(sid).copy()
        try:
            expected: Any = (200, reference_batch(copy, body))
            after = snapshot(copy)
        except ApiError as exc:
            expected, after = (exc.code, exc.body()), snapshot(emu.book(sid))
        answer = call(emu, "POST", f"/v4/spreadsheets/{sid}/values:batchUpdate", body)
        assert (answer.status, answer.body) == expected
        assert snapshot(emu.book(sid)) == after


def reference_read(bounds: Bounds, major: str, option: str) -> dict[str, Any]:
    grid = [
        [render(row.get(c), option) for c in range(bounds.col0, bounds.col1)]
        for row in bounds.sheet.rows[bounds.row0 : bounds.row1]
    ]
    if major == "COLUMNS":
        grid = [[line[c] for line in grid] for c in range(bounds.col1 - bounds.col0)]
    lines = []
    for line in grid:
        end = len(line)
        while end and line[end - 1] == "":
            end -= 1
        lines.append(line[:end])
    while lines and not lines[-1]:
        lines.pop()
    out: dict[str, Any] = {"range": bounds.a1(), "majorDimension": major}
    if lines:
        out["values"] = lines
    return out


CELLS: list[Any] = [None, None, "", "t", 0, 7, -3, 2.5, 1e20, True, False, Formula("=1+2")]
CELLS += [Formula('=""'), Formula("=A1"), DateValue(45293.0, "2024-01-02")]


def test_reads_match_the_grid_then_transpose_read() -> None:
    rnd = random.Random(11)
    for _ in range(60):
        rows = []
        for _ in range(rnd.randint(1, 12)):
            row = Row()
            for col in range(rnd.randint(0, 6)):
                row.set(col, rnd.choice(CELLS))
            rows.append(row)
        sheet = Sheet(0, "T", rows, 6)
        row0 = rnd.randrange(len(rows))
        col0 = rnd.randrange(6)
        bounds = Bounds(
            sheet, row0, rnd.randint(row0 + 1, len(rows)), col0, rnd.randint(col0 + 1, 6)
        )
        for major in ("ROWS", "COLUMNS"):
            for option in ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"):
                got = google_values.read(bounds, major, option)
                assert got == reference_read(bounds, major, option), (major, option)
