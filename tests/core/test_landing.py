"""`landing`: a row's signature, the aim of a write, whether it landed, and its neighbours."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sheetsync.core.landing import Aim, aim, id_aim, landed, neighbours, signature
from sheetsync.core.layout import Layout
from sheetsync.core.model import CellWrite

RESULTS = {"status": 1, "link": 2, "message": 3, "id": 4}
LAYOUT = Layout(("url", "Status", "Run link", "Message", "sheetsync id", "note"), (0,), RESULTS)
STATUS, ID = {1}, {4}  # 0-based columns a write changes


@pytest.mark.parametrize(
    ("left", "right", "skip", "same"),
    [
        (["a", "", "", "", "r1"], ["a", "", "", "", "r1"], set(), True),
        (["a", "", "", "", "r1"], ["b", "", "", "", "r1"], set(), False),  # other inputs
        (["a", "x", "", "", "r1"], ["a", "y", "", "", "r1"], set(), False),  # other status
        (["a", "x", "", "", "r1"], ["a", "y", "", "", "r1"], STATUS, True),  # ... the write's
        (["a", "", "", "", "r1"], ["a", "", "", "", "r2"], ID, True),
        (["a "], [" a", "", "", "", ""], set(), True),  # spaces and ragged ends do not count
        (
            ["a", "", "", "", "", "n1"],
            ["a", "", "", "", "", "n2"],
            set(),
            True,
        ),  # no column of ours
        (["a,b"], ["a", "b"], set(), False),  # cells never run together
    ],
)
def test_signature(left: list[str], right: list[str], skip: set[int], same: bool) -> None:
    """Rows sign alike when inputs and result cells match, but for the columns written."""
    assert (signature(left, LAYOUT, skip) == signature(right, LAYOUT, skip)) is same


ROW = ["q", "", "", "", ""]


@pytest.mark.parametrize(
    ("writes", "row_id", "wrote"),
    [
        (
            [CellWrite(2, 2, "sending"), CellWrite(2, 5, "r1")],
            "r1",
            (("status", "sending"), ("id", "r1")),
        ),
        (  # in the layout's order, whatever the writes' order; other rows' writes ignored
            [
                CellWrite(2, 5, "r1"),
                CellWrite(3, 2, "x"),
                CellWrite(2, 4, "m"),
                CellWrite(2, 2, "e"),
            ],
            "r1",
            (("status", "e"), ("message", "m"), ("id", "r1")),
        ),
        ([CellWrite(2, 2, "x")], "", (("status", "x"),)),  # no id written: none to find it by
        ([CellWrite(2, 6, "n")], "", ()),  # a column not ours is not a result
    ],
)
def test_aim(writes: list[CellWrite], row_id: str, wrote: tuple[tuple[str, str], ...]) -> None:
    """The aim of a row whose inputs were read: the row as read and the cells written."""
    assert aim(ROW, 2, LAYOUT, writes) == Aim(2, row_id, tuple(ROW), wrote)


def test_id_aim_has_no_row_to_compare() -> None:
    """A row whose inputs were not read is recognised by its id alone."""
    got = id_aim(9, "r1", LAYOUT, [CellWrite(9, 2, "success"), CellWrite(8, 2, "x")])
    assert got == Aim(9, "r1", None, (("status", "success"),))


BEFORE = ("q", "sending", "", "", "r1")


@pytest.mark.parametrize(
    ("target", "got", "skip", "expected"),
    [
        (Aim(2, "r1", None, ()), None, set(), False),  # no answer: not known to have landed
        (Aim(2, "r1", None, ()), ["x", "", "", "", " r1 "], set(), True),  # its id is there
        (Aim(2, "r1", None, ()), ["x", "", "", "", "r2"], set(), False),
        (Aim(2, "r1", None, ()), ["x"], set(), False),  # a ragged answer: no id
        (Aim(2, "r1", BEFORE, ()), list(BEFORE), set(), True),
        (Aim(2, "r1", BEFORE, ()), ["q", "triggered", "L", "", "r1"], {1, 2}, True),  # written
        (Aim(2, "r1", BEFORE, ()), ["p", "triggered", "L", "", "r1"], {1, 2}, False),  # moved
        (Aim(2, "r1", BEFORE, ()), ["q", "done", "", "", "r1"], set(), False),  # not ours
    ],
)
def test_landed(target: Aim, got: Sequence[str] | None, skip: set[int], expected: bool) -> None:
    """A write landed where the answer's row is the row aimed at, but for what it wrote."""
    assert landed(target, got, LAYOUT, skip) is expected


TABLE = [
    ["url", "Status", "Run link", "Message", "sheetsync id"],
    ["a", "", "", "", "ra"],
    ["b", "", "", "", "rb"],
    ["c", "", "", "", "rc"],
    ["d", "", "", "", "rd"],
]


def near(aimed: Sequence[int], table: Sequence[Sequence[str]] = TABLE, **kw: object) -> list[str]:
    """The first inputs of the neighbours of writes to `aimed` (with ids written)."""
    known = kw.get("known")
    assert known is None or isinstance(known, set)
    targets = [Aim(n, str(table[n - 1][4]), tuple(table[n - 1]), (("status", "x"),)) for n in aimed]
    found = neighbours(targets, LAYOUT, {n: STATUS for n in aimed}, table, known)
    by_signature = {signature(row, LAYOUT, STATUS): row[0] for row in table[1:]}
    assert all(not s.written and not s.row_id for s in found)
    return sorted(by_signature[s.signature] for s in found)


@pytest.mark.parametrize(
    ("aimed", "known", "expected"),
    [
        ([], None, []),
        ([3], None, ["a", "c"]),  # the rows above and below
        ([2], None, ["b"]),  # the header above the first data row is no neighbour
        ([5], None, ["c"]),  # nothing below the last row
        ([3, 4], None, ["a", "d"]),  # written rows are not each other's neighbours
        ([2, 4], None, ["b", "d"]),  # row 3 sits between two writes: listed once
        ([3], {2, 3}, ["a"]),  # a narrow read knows only some rows
    ],
)
def test_neighbours(aimed: list[int], known: set[int] | None, expected: list[str]) -> None:
    """Rows right next to written rows, as read: an insert or delete may shift them under."""
    assert near(aimed, known=known) == expected


def test_neighbours_of_an_id_aim_are_none() -> None:
    """A row whose inputs were not read leaves nothing to compare its neighbours with."""
    target = Aim(3, "rb", None, (("status", "x"),))
    assert neighbours([target], LAYOUT, {}, TABLE, None) == []


def test_neighbours_of_a_write_without_an_id_are_the_rows_people_marked() -> None:
    """A write that leaves no id: every row without an id that shows a result of a person."""
    table = [
        TABLE[0],
        ["a", "", "", "", ""],  # aimed at
        ["b", "done", "", "", ""],  # a person's mark, no id
        ["c", "", "", "", ""],  # nothing marked
        ["d", "", "", "by hand", ""],
        ["e", "triggered", "", "", "re"],  # sheetsync's: has an id
    ]
    target = Aim(2, "", tuple(table[1]), (("status", "x"),))
    found = neighbours([target], LAYOUT, {2: STATUS}, table, None)
    assert sorted(s.signature for s in found) == sorted(
        signature(table[n - 1], LAYOUT, STATUS) for n in (3, 5)
    )
