"""The pure core of checking writes: aims, strays, what puts a stray back (`landing`)."""

from __future__ import annotations

from typing import Any

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core.landing import Stray, aims, id_aim, inputs_of, landed
from sheetsync.core.layout import Layout, map_header
from sheetsync.core.model import CellWrite
from sheetsync.core.strays import UNTOLD_MESSAGE, Past, chained, edited, repair, stray

HEADER = ["url", "Status", "Run link", "Message", "sheetsync id"]
STATUS, ID = 2, 5  # 1-based columns


def watch(**kw: Any) -> Watch:
    base: dict[str, Any] = {"name": "w", "spreadsheet": "s", "worksheet": "Q", "automation": "A"}
    return build(Watch, {**base, **kw})


def layout() -> Layout:
    return map_header(HEADER, watch())


def claim(row: int, row_id: str) -> list[CellWrite]:
    return [CellWrite(row, STATUS, "sending"), CellWrite(row, ID, row_id)]


def test_a_write_that_reached_its_row_lands() -> None:
    """The answer shows the row aimed at (its inputs and untouched cells) with our cells."""
    table = [HEADER, ["a", "", "old link"], ["b", "done by hand"]]
    [target] = aims(claim(2, "r1"), table, layout())
    echo = ["a", "sending", "old link", "", "r1"]
    assert landed(target, echo, layout(), {STATUS - 1, ID - 1})
    shifted = ["b", "sending", "", "", "r1"]  # row 2 was deleted meanwhile: b moved up
    assert not landed(target, shifted, layout(), {STATUS - 1, ID - 1})


def test_a_row_hit_by_mistake_gets_what_the_read_saw_there() -> None:
    """However far it came from, the hit row's cells are found in the read by its inputs."""
    table = [HEADER, *[[f"done-{i}", "done by hand"] for i in range(90)], ["new"]]
    [target] = aims(claim(92, "r1"), table, layout())
    hit = ["done-3", "sending", "", "", "r1"]
    cols = {STATUS - 1, ID - 1}
    found = stray(target, hit, layout(), cols, Past(table, None, layout()))
    assert found.prior == (("status", "done by hand"), ("id", ""))
    assert found.row_id == "r1" and found.fingerprint == inputs_of(["done-3"], layout())
    writes, again, adopt = repair(hit, 4, found, layout(), watch(), lambda: "rZ")
    assert {(w.col, w.value) for w in writes} == {(STATUS, "done by hand"), (ID, "rZ")}
    assert adopt == ("rZ", "foreign")  # it shows an id of its own, so a miss is found again
    assert again.row_id == "rZ"


def test_a_row_nothing_tells_about_says_so() -> None:
    """A row typed in the instant before the write: shown unknown, with the reason."""
    table = [HEADER, ["a"]]
    [target] = aims(claim(2, "r1"), table, layout())
    hit = ["typed meanwhile", "sending", "", "", "r1"]
    found = stray(target, hit, layout(), {STATUS - 1, ID - 1}, Past(table, None, layout()))
    assert found.prior is None
    writes, _, adopt = repair(hit, 2, found, layout(), watch(), lambda: "rZ")
    cells = {w.col: w.value for w in writes}
    assert cells[STATUS] == "unknown" and cells[4] == UNTOLD_MESSAGE and cells[ID] == "rZ"
    assert adopt == ("rZ", "unknown")


def test_a_row_below_the_last_one_is_emptied_again() -> None:
    """A write landing past the last row (rows deleted above) leaves no id behind."""
    table = [HEADER, ["a"]]
    [target] = aims(claim(2, "r1"), table, layout())
    hit = ["", "sending", "", "", "r1"]
    found = stray(target, hit, layout(), {STATUS - 1, ID - 1}, Past(table, None, layout()))
    writes, _, adopt = repair(hit, 2, found, layout(), watch(), lambda: "rZ")
    assert {(w.col, w.value) for w in writes} == {(STATUS, ""), (ID, "")}
    assert adopt is None


def test_a_row_whose_inputs_were_not_read_is_checked_by_its_id() -> None:
    """A narrow cycle writes a handled row it did not read whole: its id cell must tell."""
    target = id_aim(7, "r7", layout(), [CellWrite(7, STATUS, "success")])
    assert landed(target, ["x", "success", "", "", "r7"], layout(), {STATUS - 1})
    assert not landed(target, ["y", "success", "", "", "r8"], layout(), {STATUS - 1})


def test_a_row_hit_twice_gets_back_what_it_held_before_the_first_hit() -> None:
    """The second mistake saw the first one's cells there: the first one's past counts."""
    first = Stray("r1", "F", (("status", "sending"), ("id", "r1")), (("status", "x"), ("id", "")))
    second = Stray(
        "r2", "F", (("status", "ok"), ("id", "r2")), (("status", "sending"), ("id", "r1"))
    )
    kept, replaced = chained(second, [first])
    assert kept.prior == (("status", "x"), ("id", "")) and replaced == [first]
    other = Stray("r9", "G", (("status", "sending"), ("id", "r9")), None)
    assert chained(second, [other]) == (second, [])


def test_a_row_finished_meanwhile_is_the_row_aimed_at_a_row_typed_in_its_place_is_not() -> None:
    """`edited`: the results the write left alone as read, and every input it showed."""
    two = map_header(["url", "product", *HEADER[1:]], watch())
    before = ["a", "", "", "", "", ""]
    skip = {2, 5}  # status and id
    assert edited(before, ["a", "A", "sending", "", "", "r1"], two, skip)
    assert not edited(before, ["b", "", "sending", "", "", "r1"], two, skip)
    moved = ["a", "A", "sending", "L9", "", "r1"]  # a handled row's link: another row
    assert not edited(before, moved, two, skip)
    both = ["a", "A", "", "", "", ""]
    assert not edited(both, ["a", "B", "sending", "", "", "r1"], two, skip)  # one replaced
    assert not edited(both, ["c", "C", "sending", "", "", "r1"], two, skip)
