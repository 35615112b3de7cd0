"""A `values:batchGet` answer walked row by row gives exactly what `json.loads` gives."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest

from sheetsync.adapters.google.lean import one_string_each, value_ranges
from sheetsync.adapters.google.source_text import AnswerError

TRICKY = ["", "a]", '"quoted"', "back\\slash", "[[x]]", "{y}", "é ü 漢字 🙂", "a,b", " : ", "\n\t"]


def listed(text: str, count: int) -> list[list[list[str]]]:
    return value_ranges(text, count, lambda _i, rows: list(rows))


def answer(tables: list[list[list[str]] | None], **dumps: object) -> str:
    ranges = []
    for i, table in enumerate(tables):
        vr: dict[str, object] = {"range": f"'T{i}'!A1:Z1000", "majorDimension": "ROWS"}
        if table is not None:
            vr["values"] = table
        ranges.append(vr)
    return json.dumps({"spreadsheetId": "s", "valueRanges": ranges}, **dumps)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "dumps",
    [{}, {"indent": 2}, {"separators": (",", ":")}, {"ensure_ascii": False}],
)
def test_every_layout_of_the_json_reads_the_same(dumps: dict[str, object]) -> None:
    """Pretty-printed, compact, escaped or not: rows, empty rows, a range without values."""
    rng = random.Random(7)
    tables: list[list[list[str]] | None] = [
        [[rng.choice(TRICKY) for _ in range(rng.randrange(0, 6))] for _ in range(50)],
        None,
        [["h1", "h2"], [], ["only"]],
    ]
    assert listed(answer(tables, **dumps), 3) == [t or [] for t in tables]


def test_numbers_and_booleans_become_text() -> None:
    """Formatted values are text; anything else is made text, as `read_tabs` does."""
    text = '{"valueRanges": [{"values": [["a", 1, true, 2.5]]}]}'
    assert listed(text, 1) == [[["a", "1", "True", "2.5"]]]


def test_rows_a_reducer_leaves_are_skipped() -> None:
    """A reducer that stops early does not shift the next range."""
    text = answer([[["a"], ["b"], ["c"]], [["d"]]])

    def first(_index: int, rows: Iterator[list[str]]) -> list[str]:
        return next(rows, [])

    assert value_ranges(text, 2, first) == [["a"], ["d"]]


@pytest.mark.parametrize(
    "text",
    [
        "<html>proxy</html>",
        '{"valueRanges": [{"values": [["a"]',
        '{"valueRanges": [{"values": 5}]}',
    ],
)
def test_what_is_not_an_answer_is_refused(text: str) -> None:
    """A proxy's page or a cut answer is an `AnswerError` (a `ValueError`)."""
    with pytest.raises(AnswerError):
        listed(text, 1)


@pytest.mark.parametrize("given", [0, 1, 3])
def test_an_answer_with_another_number_of_value_ranges_is_refused(given: int) -> None:
    """Google answers one value range per range asked: fewer or more is not its answer
    (a narrow read taking a missing id column for an empty one would send rows again)."""
    text = answer([[["a"]] for _ in range(given)])
    told = "more value ranges than the 2" if given > 2 else f"{given} value ranges for 2 ranges"
    with pytest.raises(AnswerError, match=told):
        listed(text, 2)


def test_a_column_of_repeated_values_keeps_one_string_per_value() -> None:
    column = json.loads(json.dumps(["triggered", "failed"] * 500 + [""]))
    assert len({id(c) for c in column}) > 3  # as decoded: a string per cell
    kept = one_string_each(column)
    assert kept == column and len({id(c) for c in kept}) == 3
    ids = [f"r{i:012x}" for i in range(1000)]
    assert one_string_each(ids) is ids  # distinct values: the column as it is


@pytest.mark.parametrize("seed", range(6))
def test_an_answer_arriving_in_pieces_reads_as_the_whole(seed: int) -> None:
    """Cut anywhere (inside a string, an escape, a number, between a key and its colon),
    the pieces read exactly as the whole text does."""
    rng = random.Random(seed)
    tables: list[list[list[str]] | None] = [
        [[rng.choice(TRICKY) for _ in range(rng.randrange(0, 6))] for _ in range(80)],
        None,
        [["h"], ["x" * 3000]],
    ]
    text = answer(tables, indent=rng.choice([None, 1]))
    text = text.replace('"h"', "12345", 1)  # a number to cut in two
    cuts = [*sorted(rng.sample(range(1, len(text)), 40)), len(text)]
    pieces = [text[a:b] for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]
    whole = value_ranges(text, 3, lambda _i, rows: list(rows))
    assert value_ranges(iter(pieces), 3, lambda _i, rows: list(rows)) == whole
    assert whole[2][0] == ["12345"]
    one_char = value_ranges(iter(text), 3, lambda _i, rows: list(rows))
    assert one_char == whole


def test_an_answer_whose_pieces_stop_short_is_refused() -> None:
    text = answer([[["a"], ["b"]]])
    with pytest.raises(AnswerError):
        value_ranges(iter([text[:20], text[20:-3]]), 1, lambda _i, rows: list(rows))


def _decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Where each value decode of `source_text.DECODER` starts (runs of rows: not counted)."""
    from sheetsync.adapters.google import source_text

    decodes: list[int] = []
    real = json.JSONDecoder()

    class Counted:
        def raw_decode(self, text: str, pos: int = 0) -> tuple[object, int]:
            decodes.append(pos)
            return real.raw_decode(text, pos)

        def decode(self, text: str) -> object:
            return real.decode(text)

    monkeypatch.setattr(source_text, "DECODER", Counted())
    return decodes


def test_a_column_of_megabytes_in_small_pieces_is_decoded_a_few_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A column-major answer's "row" is a whole column: cut at a window's end, it is
    decoded again once its close has come, not once per piece or per doubling (counted
    decodes: before, one per doubling, 8 here)."""
    decodes = _decodes(monkeypatch)
    column = [f"https://shop.example/{i:08d}" for i in range(60_000)]
    text = answer([[column]])
    pieces = [text[i : i + 8192] for i in range(0, len(text), 8192)]
    assert len(text) > 1_800_000 and len(pieces) > 200
    assert value_ranges(iter(pieces), 1, lambda _i, rows: list(rows)) == [[column]]
    at = text.index("[[") + 1  # the column; the other decodes are of keys and short values
    assert decodes.count(at) <= 2  # one from the window, one once its close came


@pytest.mark.parametrize("cell", ["] shop {i}", "],[{i}", "]]", "  ] {i}", "\\" * 40])
@pytest.mark.parametrize("indent", [None, 2])
def test_cells_that_look_like_a_column_close_cost_a_few_decodes(
    monkeypatch: pytest.MonkeyPatch, cell: str, indent: int | None
) -> None:
    """A cell may look like a column's close (its opening quote, then `]`); a decode of
    the column that fails on one waits for the text to grow by half before the next: a
    few decodes of the column, not one per piece (the second review: 5.3 s of CPU for a
    200,000-cell column of `"] shop ..."` in 8 kB pieces, quadratic). A run of
    backslashes longer than the context searched is taken for a close, never missed."""
    decodes = _decodes(monkeypatch)
    column = [cell.format(i=i) for i in range(40_000)]
    text = answer([[column, ["a"], column[:5]]], indent=indent)
    pieces = [text[i : i + 2048] for i in range(0, len(text), 2048)]
    assert len(pieces) > 100
    got = value_ranges(iter(pieces), 1, lambda _i, rows: list(rows))
    assert got == [[column, ["a"], column[:5]]]
    assert len(decodes) <= 24  # keys and short values too; 97 to 482 before


@pytest.mark.parametrize("seed", range(4))
def test_runs_of_rows_read_as_json_loads_reads_them(seed: int) -> None:
    """Rows are decoded a run at a time, the text cut after a row's `],`: a cut falling
    inside a cell that holds `],` (or `"],["`) decodes rows one at a time there, and
    every layout of the JSON, in any pieces, reads as `json.loads` does (an answer big
    enough for runs: several times `AHEAD`)."""
    rng = random.Random(seed)
    tricky = [*TRICKY, "x],y", '"],["', "],", "]]", 'a\\"],']
    tables: list[list[list[str]] | None] = [
        [
            [rng.choice(tricky) * rng.randrange(1, 40) for _ in range(rng.randrange(0, 7))]
            for _ in range(6_000)
        ],
        None,
        [[str(i), "],"] for i in range(3_000)],
    ]
    text = answer(tables, indent=rng.choice([None, 1, 2]), ensure_ascii=rng.random() < 0.5)
    assert len(text) > 4 * 65_536
    cuts = [*sorted(rng.sample(range(1, len(text)), 60)), len(text)]
    pieces = [text[a:b] for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]
    expected = [t or [] for t in tables]
    assert value_ranges(iter(pieces), 3, lambda _i, rows: list(rows)) == expected


def test_a_run_holding_a_number_or_an_object_reads_as_one_row_at_a_time_does() -> None:
    """A number in a run is made text; an object where a row should be is refused."""
    rows = [["a", "b"]] * 30_000  # the odd row well before the last `AHEAD` of text
    text = json.dumps({"valueRanges": [{"values": [*rows, ["c", 7], *rows]}]})
    assert listed(text, 1) == [[*rows, ["c", "7"], *rows]]
    bad = json.dumps({"valueRanges": [{"values": [*rows, {"a": 1}, *rows]}]})
    with pytest.raises(AnswerError, match="not a list"):
        listed(bad, 1)


class _Counted:
    """`source_text.DECODER` counting its calls (both kinds)."""

    def __init__(self) -> None:
        self.calls = 0
        self.real = json.JSONDecoder()

    def raw_decode(self, text: str, pos: int = 0) -> tuple[object, int]:
        self.calls += 1
        return self.real.raw_decode(text, pos)

    def decode(self, text: str) -> object:
        self.calls += 1
        return self.real.decode(text)


def test_plain_rows_are_decoded_a_run_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """20,000 short rows take a few hundred decodes, not one each; rows whose cells hold
    `],` (every cut falls in a cell) take about one each, not a failed run and a row."""
    from sheetsync.adapters.google import source_text

    counted = _Counted()
    monkeypatch.setattr(source_text, "DECODER", counted)
    rows = [[f"r{i}", "triggered", "https://run/x"] for i in range(20_000)]
    assert listed(answer([rows], indent=2), 1) == [rows]
    assert counted.calls < 1_000
    counted.calls = 0
    tricky = [[f"r{i}", "a],b" * 30] for i in range(5_000)]
    assert listed(answer([tricky]), 1) == [tricky]
    assert counted.calls < 1.2 * len(tricky)


@pytest.mark.parametrize("shift", [2, 10, 20])
def test_a_run_cut_where_the_window_ends_in_the_gap_after_it(shift: int) -> None:
    """Pretty-printed rows (`],` then a newline and spaces): a run ending at a long row's
    end, near the window's end, and a piece ending inside the gap after it (the long
    cell's length puts the run there: the second review's case); the next row is found."""
    rows = [[f"r{i}", "triggered", "https://run/x"] for i in range(400)]
    rows += [["a" * 33_466, "b" * 30_000], *([["z"]] * 3_000)]
    value = {"range": "T!A1:C", "majorDimension": "ROWS", "values": rows}
    text = json.dumps({"spreadsheetId": "s", "valueRanges": [value]}, indent=2)
    cut = text.index("],", text.index("b" * 30_000)) + shift
    assert value_ranges(iter([text[:cut], text[cut:]]), 1, lambda _i, r: list(r)) == [rows]


@pytest.mark.parametrize("before", [["ok"], ["],"], []])
def test_a_null_row_is_refused_wherever_it_falls(before: list[str]) -> None:
    """A `null` where a row should be is not a row: refused, never skipped, whether it is
    decoded in a run, alone from the window, or at the window's end."""
    tail = [["a", "b"]] * 20_000
    for values in ([["x" * 8180], None, before, *tail], [*tail, None, before], [None]):
        text = json.dumps({"valueRanges": [{"values": values}]}, separators=(",", ":"))
        with pytest.raises(AnswerError, match="not a list"):
            listed(text, 1)


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("piece", [1, 7, 4096])
def test_columns_whose_cells_hold_quotes_brackets_and_backslashes_read_whole(
    indent: int | None, piece: int
) -> None:
    """A cell may hold what looks like a list's close (`"]`, escaped in the JSON text as
    `\\"]`, after backslashes of its own): the column is still read whole, however the
    pieces cut it."""
    odd = ['a"]', '\\"]', "\\\\", 'x\\\\"]', "]", '"', "[", ""]
    columns = [[f"{i}{odd[i % len(odd)]}" for i in range(300)], ["b"] * 50, []]
    text = json.dumps({"valueRanges": [{"values": columns}]}, indent=indent)
    pieces = [text[i : i + piece] for i in range(0, len(text), piece)]
    assert value_ranges(iter(pieces), 1, lambda _i, rows: list(rows)) == [columns]
