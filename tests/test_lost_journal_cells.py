"""A lost journal's big tab is adopted from its result cells read column by column
(`orphans._Shown`): each row must be recorded exactly as `orphans.adoption` records a
row read whole, whatever its cells (status words in any case and spacing, a person's
words, run-status words, cells that look like numbers or JSON, rows and columns that
end early). Seeded random tabs, compared row by row on both stores."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sheetsync.core import narrow
from sheetsync.core.model import Entry
from sheetsync.core.view import layout_of
from sheetsync.cycle import orphans
from sheetsync.testing import World

HEADER = ["url", "product", "Status", "Run link", "Message", "Triggered at", "Run status"]
HEADER += ["sheetsync id", "note"]
STATUS = ["triggered", " Triggered ", "TRIGGERED", "queued", "error", "unknown", "skipped"]
STATUS += ["done by hand", "queued  "]
CELLS = ["", "", "123", "true", "null", "1.5", "[1]", '{"a":1}', " spaced ", "x y", "0012"]
RUNS = ["", "", "running", "Running ", "success", " success", "failure", "untracked", "other"]
ID = 7


def tab(rnd: random.Random) -> list[list[str]]:
    """120 handled rows of random cells (some cut short), 10 ending the result columns
    early, and a new row."""
    rows = []
    for i in range(120):
        cells = [rnd.choice(CELLS) for _ in range(3)]
        shown = [c if rnd.random() < 0.6 else f"{c}own{i}" for c in cells]
        row = [f"https://{i}", f"P{i}", rnd.choice(STATUS), *shown]
        row += [rnd.choice(RUNS), f"r{i:011d}", rnd.choice(["", "n"])]
        while row[-1] == "":
            row.pop()
        rows.append(row)
    rows += [
        [f"https://{i}", f"P{i}", rnd.choice(STATUS), "", "", "", "", f"r{i:011d}"]
        for i in range(120, 130)
    ]
    return [*rows, ["https://new", "N"]]


@pytest.mark.parametrize("seed", range(3))
def test_rows_adopted_from_their_columns_are_recorded_as_rows_read_whole(
    world: World, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rnd = random.Random(seed)
    monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 10)
    monkeypatch.setattr(orphans, "ADOPT_CHUNK", rnd.choice([3, 7, 1000]))
    world.sheet([HEADER, *tab(rnd)])
    world.config({"mode": "row"})
    rows = world.values()[1:]
    journal = world.runtime().journal
    entries: dict[str, Entry] = {}  # as adopted (the cycle then writes some rows)

    def watched(name: str) -> None:
        original = getattr(journal, name)

        def adopting(*args: Any) -> None:
            ids = args[2] if name == "adopt_alike" else args[2].row_ids
            assert list(ids) == sorted(ids)  # a range of the key index each
            original(*args)
            entries.update(journal.entries_needed(args[0], world.clock(), ids))

        monkeypatch.setattr(journal, name, adopting)

    watched("adopt_alike")
    watched("adopt_shown")
    world.once()
    watch = world.load().watches[0]
    layout = layout_of(watch, [HEADER, *rows])
    assert len(entries) > 60
    for row in rows:
        if len(row) <= ID or row[ID] not in entries:
            continue
        entry = entries[row[ID]]
        want = orphans.adoption(row, row[ID], layout, watch, inputs=False)
        got = (entry.state, entry.fingerprint, entry.link, entry.message, entry.triggered_at)
        assert got == (want.state, want.fingerprint, want.link, want.message, want.triggered_at)
        got_run = (entry.run_status, entry.retry_due, entry.shown, entry.checked)
        assert got_run == (want.run_status, want.due, want.shown, True), row
