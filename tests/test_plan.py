"""The pure core: header mapping, candidates, payloads and the journal projection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core.first_cycle import split_existing
from sheetsync.core.layout import Layout, map_header
from sheetsync.core.model import Candidate, Entry, Projection
from sheetsync.core.ownership import owners_of
from sheetsync.core.plan import find_candidates, fingerprint, plan_triggers, waiting_delay
from sheetsync.core.projection import claim_writes, project
from sheetsync.errors import SheetError


def watch(**kw: Any) -> Watch:
    base: dict[str, Any] = {"name": "w", "spreadsheet": "s", "worksheet": "Q", "automation": "A"}
    return build(Watch, {**base, **kw})


def candidates(
    table: Sequence[Sequence[str]], layout: Layout, w: Watch, entries: Mapping[str, Entry]
) -> list[Candidate]:
    """`find_candidates` on a table read whole."""
    return find_candidates(table, layout, w, entries, owners_of(table, layout, entries))


def projected(
    table: Sequence[Sequence[str]], layout: Layout, w: Watch, entries: Mapping[str, Entry]
) -> Projection:
    """`project` on a table read whole."""
    return project(table, layout, w, entries, owners_of(table, layout, entries))


def test_header_mapping_adds_missing_results_to_the_right() -> None:
    """Missing result columns are planned after the last header cell, id included."""
    layout = map_header(["url", "", "Status"], watch())
    assert layout.header == ("url", "", "Status", "Run link", "Message", "sheetsync id")
    assert layout.results["status"] == 2
    assert layout.inputs == (0,)


def test_header_matching_ignores_case_and_spacing() -> None:
    """`  status ` finds the Status column."""
    layout = map_header(["  status ", "URL", "run  link", "message", "sheetsync id"], watch())
    assert layout.added == ()
    assert layout.results["link"] == 2


def test_missing_result_without_adding_is_an_error() -> None:
    """add_missing_columns = false turns a missing result column into a SheetError."""
    with pytest.raises(SheetError, match="'Run link'"):
        map_header(["url", "Status", "Message"], watch(add_missing_columns=False))


def test_candidates_new_retry_and_known() -> None:
    """New rows, retry rows and due waiting rows are candidates; done rows are not."""
    w = watch()
    table = [
        ["url", "Status", "Run link", "Message", "sheetsync id"],
        ["a"],
        ["", ""],
        ["b", "done"],
        ["c", "retry", "", "", "r1"],
        ["d", "waiting", "", "", "r2"],
        ["e", "", "", "", "r3"],
        ["f", "waiting", "", "", "r4"],
    ]
    entries = {
        "r1": Entry("r1", "triggered"),
        "r2": Entry("r2", "waiting", retry_due=True),
        "r3": Entry("r3", "triggered"),
        "r4": Entry("r4", "waiting", retry_due=False),
    }
    found = candidates(table, map_header(table[0], w), w, entries)
    assert [(c.row_number, c.inputs) for c in found] == [(2, ("a",)), (5, ("c",)), (6, ("d",))]
    assert found[1].row_id == "r1" and found[1].retry
    assert found[2].row_id == "r2"


def test_batches_group_by_automation() -> None:
    """Batch mode groups rows by their automation: two names, two triggers."""
    w = watch(mode="batch", automation_column="Auto")
    table = [["url", "Auto"], ["a", "X"], ["b", ""], ["c", "X"]]
    layout = map_header(table[0], w)
    plans = plan_triggers(candidates(table, layout, w, {}), layout, w)
    assert [(p.automation, p.data) for p in plans] == [
        ("X", [["url"], ["a"], ["c"]]),
        ("A", [["url"], ["b"]]),
    ]


def test_projection_follows_ids_and_checks_by_the_id() -> None:
    """Results go where the id is, leaving the id alone: the write's answer tells by it
    that the write reached the row (also when a person edited the row's inputs)."""
    w = watch()
    table = [
        ["url", "Status", "Run link", "Message", "sheetsync id"],
        ["new row"],
        ["b", "sending", "", "", "r2"],
        ["a", "sending", "", "", "r1"],
    ]
    entries = {
        "r1": Entry("r1", "triggered", fingerprint(["a"]), link="L1"),
        "r2": Entry("r2", "error", fingerprint(["b"]), message="M2"),
        "r4": Entry("r4", "triggered", fingerprint(["d"]), link="L4"),
    }
    out = projected(table, map_header(table[0], w), w, entries)
    cells = {(c.row, c.col): c.value for c in out.writes}
    assert cells == {
        (4, 2): "triggered",
        (4, 3): "L1",
        (3, 2): "error",
        (3, 4): "M2",
    }
    assert [(a.row, a.row_id, a.by_id) for a in out.aims] == [(3, "r2", True), (4, "r1", True)]
    assert out.showing == ["r2", "r1"]


def test_one_id_on_two_rows_belongs_to_the_row_holding_its_inputs() -> None:
    """A copy (or a misplaced write) first, the row with the claimed inputs second: the
    second owns the id, and a `retry` shown there is compared like any other row."""
    w = watch()
    table = [
        ["url", "Status", "Run link", "Message", "sheetsync id"],
        ["y", "sending", "", "", "r1"],
        ["x", "retry", "old", "", "r1"],
    ]
    layout = map_header(table[0], w)
    entries = {"r1": Entry("r1", "triggered", fingerprint(["x"]), link="L")}
    assert owners_of(table, layout, entries).row("r1") == 3
    assert candidates(table, layout, w, entries)[0].row_number == 3
    waiting = {"r1": Entry("r1", "waiting", fingerprint(["x"]))}
    assert projected(table, layout, w, waiting).writes == []  # row 2 is not written


def test_claim_writes_clear_old_results() -> None:
    """A claim shows sending, sets the id and clears an old link and message."""
    w = watch()
    table = [
        ["url", "Status", "Run link", "Message", "sheetsync id"],
        ["a", "retry", "L", "M", "r1"],
    ]
    layout = map_header(table[0], w)
    [c] = candidates(table, layout, w, {"r1": Entry("r1", "error")})
    assert {(x.col, x.value) for x in claim_writes([c], layout, w)} == {
        (2, "sending"),
        (5, "r1"),
        (3, ""),
        (4, ""),
    }


def test_waiting_delay_backs_off_and_caps() -> None:
    """Account-level waits double and stop at 15 minutes; quota waits are 5 minutes."""
    assert waiting_delay("invalid_key", 0, 0.5) == 60
    assert waiting_delay("server", 2, 0.5) == 240
    assert waiting_delay("server", 10, 0.5) == 900
    assert waiting_delay("quota", 3, 0.9) == 300


def test_a_claim_on_a_row_with_other_inputs_is_not_sent() -> None:
    """After a crash, a claimed id found on a row with other inputs is never sent from there."""
    w = watch()
    table = [
        ["url", "Status", "Run link", "Message", "sheetsync id"],
        ["q", "sending", "", "", "r1"],
    ]
    entries = {"r1": Entry("r1", "claimed", fingerprint(["a"]), checked=False)}
    assert candidates(table, map_header(table[0], w), w, entries) == []
    checked = {"r1": Entry("r1", "claimed", fingerprint(["a"]))}  # seen on its row, then edited
    [again] = candidates(table, map_header(table[0], w), w, checked)
    assert again.row_id == "r1" and again.inputs == ("q",)


def test_a_reused_row_with_new_inputs_is_new() -> None:
    """Clearing a finished row's status and typing new inputs makes it a new row."""
    w = watch()
    table = [["url", "Status", "Run link", "Message", "sheetsync id"], ["new", "", "L", "", "r1"]]
    entries = {"r1": Entry("r1", "triggered", fingerprint(["old"]), link="L")}
    [c] = candidates(table, map_header(table[0], w), w, entries)
    assert c.row_id != "r1" and c.fresh


def test_clearing_the_status_of_an_unchanged_row_is_no_new_row() -> None:
    """Same inputs, status cleared: the journal restores it, nothing is sent."""
    w = watch()
    table = [["url", "Status", "Run link", "Message", "sheetsync id"], ["a", "", "L", "", "r1"]]
    entries = {"r1": Entry("r1", "triggered", fingerprint(["a"]), link="L")}
    layout = map_header(table[0], w)
    assert candidates(table, layout, w, entries) == []
    writes = projected(table, layout, w, entries).writes
    assert [(c.row, c.col, c.value) for c in writes] == [(2, 2, "triggered")]


def test_added_columns_go_right_of_unheaded_data() -> None:
    """Notes typed in a column without a header are never overwritten by result columns."""
    layout = map_header(["url"], watch(), data_width=3)
    assert layout.results["status"] == 3
    assert layout.inputs == (0,)


def test_a_row_whose_abandoned_claim_comes_back_is_new() -> None:
    """A claim given up because its row vanished: if the row returns, it is sent as new."""
    w = watch()
    table = [
        ["url", "Status", "Run link", "Message", "sheetsync id"],
        ["a", "sending", "", "", "r1"],
    ]
    entries = {"r1": Entry("r1", "abandoned", fingerprint(["a"]))}
    [c] = candidates(table, map_header(table[0], w), w, entries)
    assert c.fresh and c.row_id != "r1"


def test_a_first_cycle_from_now_skips_present_rows_but_sends_retries() -> None:
    """`start_from = "now"`: the split the engine marks and `sheetsync check` predicts."""
    rows = [Candidate(n, f"r{n}", ("x",), "A", "f", retry=n == 3) for n in (2, 3, 4)]
    sent, skipped = split_existing(rows)
    assert [c.row_number for c in sent] == [3]
    assert [c.row_number for c in skipped] == [2, 4]
