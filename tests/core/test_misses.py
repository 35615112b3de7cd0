"""`misses`: a late claim write one row off, found by its row's inputs, and what that row
held told from the journal by them."""

from __future__ import annotations

from typing import Any

import pytest

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core.landing import inputs_of
from sheetsync.core.layout import Layout
from sheetsync.core.misses import Miss, misses, told, unchecked
from sheetsync.core.model import Entry
from sheetsync.core.plan import fingerprint
from sheetsync.core.view import Scan

RESULTS = {"status": 1, "link": 2, "message": 3, "id": 4}
LAYOUT = Layout(("url", "Status", "Run link", "Message", "sheetsync id"), (0,), RESULTS)
WATCH: Watch = build(Watch, {"name": "w", "spreadsheet": "s", "worksheet": "Q", "automation": "A"})
CLAIM = Entry("rx", "claimed", fingerprint(["https://mine"]), checked=False)


def entry(row_id: str, state: str, url: str, **kw: Any) -> Entry:
    return Entry(row_id, state, fingerprint([url]), **kw)


def scan_of(table: list[list[str]]) -> Scan:
    ids = [r[4] if len(r) > 4 else "" for r in table[1:]]
    holders: dict[str, int] = {}
    extra: dict[str, list[int]] = {}
    for number, rid in enumerate(ids, start=2):
        if rid and holders.setdefault(rid, number) != number:
            extra.setdefault(rid, []).append(number)
    return Scan([], holders, ids, extra)


HEAD = ["url", "Status", "Run link", "Message", "sheetsync id"]


@pytest.mark.parametrize(
    ("row", "hit"),
    [
        (["https://other", "sending", "", "", "rx"], True),  # one row off: a miss
        (["https://mine", "sending", "", "", "rx"], False),  # its own row: no miss
        (["https://other", " Sending ", "", "", "rx"], True),  # as people read it
        (["https://other", "done by hand", "", "", "rx"], False),  # not a claim write's
        (["https://other", "", "", "", "rx"], False),
    ],
)
def test_a_miss_is_sending_and_the_claims_id_beside_other_inputs(row: list[str], hit: bool) -> None:
    table = [HEAD, ["https://a", "triggered", "L", "", "ra"], row]
    found, unread = misses(table, None, scan_of(table), LAYOUT, WATCH, [CLAIM])
    expected = [Miss(3, "rx", inputs_of(row, LAYOUT), row[1].strip())] if hit else []
    assert found == expected and unread == set()


def test_rows_not_read_whole_are_left_to_the_next_read() -> None:
    table = [HEAD, ["", "sending", "", "", "rx"]]
    found, unread = misses(table, {5}, scan_of(table), LAYOUT, WATCH, [CLAIM])
    assert found == [] and unread == {2}


def test_a_copy_beside_the_claims_own_row_is_a_miss_too() -> None:
    table = [
        HEAD,
        ["https://mine", "sending", "", "", "rx"],
        ["https://b", "sending", "", "", "rx"],
    ]
    found, _ = misses(table, None, scan_of(table), LAYOUT, WATCH, [CLAIM])
    assert [m.number for m in found] == [3]


def test_only_unchecked_claims_the_sheet_shows_are_walked() -> None:
    entries = {
        "rx": CLAIM,
        "ry": Entry("ry", "claimed", "f", checked=True),  # seen on its row
        "rz": Entry("rz", "claimed", "f", checked=False),  # shown nowhere
        "ra": Entry("ra", "abandoned", "f", checked=False),  # given up: tombstones' rules
        "rt": Entry("rt", "triggered", "f"),
    }
    shown = Scan([], {"rx": 2, "ry": 3, "ra": 4, "rt": 5}, ["rx", "ry", "ra", "rt"])
    assert unchecked(entries, shown) == [CLAIM]


def test_any_row_whose_id_is_on_two_rows_is_walked_too() -> None:
    """An earlier attempt's claim write can land one row off after its claim was seen on
    its own row and sent; rows adopted without inputs have nothing to compare."""
    entries = {
        "rt": Entry("rt", "triggered", "f"),
        "ru": Entry("ru", "triggered", ""),  # adopted from its result cells alone
        "rv": Entry("rv", "triggered", "f"),  # on one row
    }
    twice = Scan(
        [], {"rt": 2, "ru": 3, "rv": 5}, ["rt", "ru", "rt", "rv", "ru"], {"rt": [4], "ru": [6]}
    )
    assert unchecked(entries, twice) == [entries["rt"]]


def test_a_row_not_read_whole_is_left_alone_unless_it_shows_sending() -> None:
    """A copied row showing a result is no claim write's: it does not make the next read
    whole (a copied row would, every cycle)."""
    table = [HEAD, ["", "triggered", "L", "", "rx"], ["", "sending", "", "", "rx"]]
    found, unread = misses(table, set(), scan_of(table), LAYOUT, WATCH, [CLAIM])
    assert found == [] and unread == {3}


MISS = Miss(3, "rx", fingerprint(["https://b"]), "sending")
WROTE = (("status", "sending"), ("id", "rx"))


def test_what_the_row_held_is_never_told() -> None:
    """Its inputs tell nothing: a new row, a row finished by hand, a copy and a row typed
    again after a deleted one may all show them. Shown `unknown`, never sent on a guess."""
    stray = told(MISS)
    assert stray.row_id == "rx" and stray.fingerprint == MISS.fingerprint
    assert stray.wrote == WROTE
    assert stray.prior is None


SENT = Entry("rx", "triggered", fingerprint(["https://mine"]))
"""A claim seen on its row and sent: its id on two rows is walked for a late claim write."""


def test_a_sent_claims_id_on_a_row_showing_sending_beside_other_inputs_is_a_miss() -> None:
    table = [
        HEAD,
        ["https://b", "sending", "", "", "rx"],
        ["https://mine", "triggered", "L", "", "rx"],
    ]
    found, unread = misses(table, None, scan_of(table), LAYOUT, WATCH, [SENT])
    assert [m.number for m in found] == [2] and unread == set()


def test_no_holder_showing_a_sent_claims_inputs_leaves_the_id_to_ownership() -> None:
    """A person edited the inputs: ownership gives the id to its first row; neither row is
    told a miss (the owner would be shown unknown and its run's results reach no row)."""
    table = [
        HEAD,
        ["https://edited", "sending", "", "", "rx"],
        ["https://b", "sending", "", "", "rx"],
    ]
    found, unread = misses(table, None, scan_of(table), LAYOUT, WATCH, [SENT])
    assert found == [] and unread == set()


def test_a_sent_claims_holders_not_read_whole_are_read_before_any_is_told() -> None:
    table = [HEAD, ["", "sending", "", "", "rx"], ["", "triggered", "L", "", "rx"]]
    found, unread = misses(table, {2}, scan_of(table), LAYOUT, WATCH, [SENT])
    assert found == [] and unread == {3}


def test_given_up_rows_are_not_walked_for_being_on_two_rows() -> None:
    entries = {
        "rx": Entry("rx", "abandoned", "f", checked=False),
        "ry": Entry("ry", "skipped", "f"),
    }
    twice = Scan([], {"rx": 2, "ry": 3}, ["rx", "ry", "rx", "ry"], {"rx": [4], "ry": [5]})
    assert unchecked(entries, twice) == []
