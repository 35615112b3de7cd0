"""A first read's keeper takes a tab's columns (set operations and comprehensions over a
whole column); what it keeps must be what its rules say row by row.

`one_at_a_time` states those rules as the keeper applied them when it took rows:
random tabs (ragged and empty rows, ids with spaces, copies, blank headers, data under no
header, missing result columns, several watches, headers that do not map) are kept by
both and compared whole: rows kept whole, every kept column, every row of the table.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from typing import Any

import pytest

from sheetsync.config import Watch
from sheetsync.config.schema import build
from sheetsync.core import first_read, narrow
from sheetsync.core.first_read import (
    assemble,
    columns_of,
    kept_columns,
    lean_views,
    table_of,
)
from sheetsync.core.layout import map_header, norm, trimmed_header
from sheetsync.core.view import View
from sheetsync.errors import SheetError

STATUSES = ["", " ", "triggered", "Triggered ", "retry", " RETRY", "sending", "waiting\t"]
STATUSES += ["done", "error", "Again", "hold on", " going", "x"]
RESULTS = ["Status", "Run link", "Message", "sheetsync id", "Triggered at", "Run status"]
OTHER = {"status": "State", "link": "Link 2", "message": "Msg 2", "id": "key"}


def one_at_a_time(rows: list[list[str]], watch: Watch, check: Collection[str]) -> View:
    """The view of one watch's first read by the rules, taking the rows one by one."""
    header, body = rows[0], rows[1:]
    try:
        layout = map_header(trimmed_header(header), watch)
    except SheetError:
        return View(list(rows))
    columns: dict[int, list[str]] = {c: [] for c in kept_columns(layout)}
    status_col, id_col = (layout.results[k] for k in ("status", "id"))
    words = {norm(w) for w in (watch.statuses.retry, watch.statuses.sending)}
    words |= {"", norm(watch.statuses.waiting)}
    seen, widest = set(check), 0
    whole: dict[int, Sequence[str]] = {}
    named = len(trimmed_header(header))
    unheaded = {i for i, cell in enumerate(header[:named]) if not cell.strip()}
    for number, row in enumerate(body, start=2):
        width = len(row)
        if width > widest:
            widest = width
            if width > named:
                whole[number] = row  # data under no header
        status = row[status_col] if status_col in columns and status_col < width else ""
        want = norm(status) in words
        row_id = (row[id_col] if id_col in columns and id_col < width else "").strip()
        if row_id:
            want = want or row_id in seen
            seen.add(row_id)
        found = {i for i in unheaded if i < width and row[i].strip()}
        if found:  # the first row with data under a blank header
            unheaded -= found
            want = True
        if want:
            whole[number] = row
        for col, cells in columns.items():
            cells.append(row[col] if col < width else "")
    for cells in columns.values():
        while cells and not cells[-1]:
            cells.pop()
    return assemble(header, columns, whole, widest)


def a_watch(rng: random.Random, number: int) -> Watch:
    kw: dict[str, Any] = {"name": f"w{number}", "spreadsheet": "s", "worksheet": "Q"}
    kw["automation"] = "A"
    if number % 2:
        kw["columns"] = OTHER
    if rng.random() < 0.3:
        kw["statuses"] = {"retry": "Again", "waiting": "Hold on", "sending": "Going"}
    if rng.random() < 0.3:
        kw["ready_column"] = "ready"
    return build(Watch, kw)


def a_header(rng: random.Random) -> list[str]:
    names = [c for c in [*RESULTS, *OTHER.values()] if rng.random() < 0.75]
    names += [c for c in ["url", "name", "ready", "", " "] if rng.random() < 0.6]
    rng.shuffle(names)
    if rng.random() < 0.1:
        names.append("status ")  # a second status column: that watch's header does not map
    return names + [""] * rng.choice([0, 0, 1, 2])


def a_cell(rng: random.Random, name: str, ids: Sequence[str]) -> str:
    if name in ("Status", "State"):
        return rng.choice(STATUSES)
    if name in ("sheetsync id", "key"):
        row_id = rng.choice(ids)
        return rng.choice([row_id, row_id, f" {row_id}", f"{row_id} ", "", "  "])
    if name in ("Run link", "Link 2"):
        return rng.choice(["", "L", f"https://x/{rng.randint(0, 10**6)}"])
    if not name.strip():
        return rng.choice(["", " ", "x"]) if rng.random() < 0.05 else ""
    return rng.choice(["", f"v{rng.randint(0, 50)}"])


def a_tab(rng: random.Random, header: list[str]) -> list[list[str]]:
    ids = [f"r{i}" for i in range(rng.choice([5, 50, 5000]))]
    width, rows = len(header), [header]
    for _ in range(rng.choice([5, 20, 60, 300, 1500])):
        if rng.random() < 0.03:
            rows.append([])
            continue
        cells = rng.choice([width, width, width - 1, width - 3, width + 1, width + 3])
        names = [*header, *[""] * 4]
        rows.append([a_cell(rng, names[c], ids) for c in range(max(0, cells))])
    return rows


def parts(view: View) -> tuple[Any, ...]:
    table = view.table
    inside = vars(table) if not isinstance(table, list) else None
    return view.known, view.columns, [tuple(row) for row in table], inside


@pytest.mark.parametrize("seed", range(8))
def test_batches_keep_what_the_rules_keep_row_by_row(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", rng.choice([2, 10, 50]))
        monkeypatch.setattr(first_read, "POOL", rng.choice([1, 2, 3, 7, 16, 100, 1000]))
        rows = table_of(columns_of(a_tab(rng, a_header(rng))))  # as Google's reads give it
        watches = {}
        for number in range(rng.choice([1, 1, 2, 3])):
            check = set(rng.sample([f"r{i}" for i in range(60)], rng.randint(0, 5)))
            watch = a_watch(rng, number)
            watches[watch.name] = (watch, check | ({" r1", ""} if rng.random() < 0.3 else set()))
        asked = {name: set(check) for name, (_, check) in watches.items()}
        views = lean_views(columns_of(rows), watches)
        for name, (watch, check) in watches.items():
            assert check == asked[name]  # the ids to check are the caller's, untouched
            if len(rows) < narrow.NARROW_FROM_ROWS:
                assert [tuple(r) for r in views[name].table] == [tuple(r) for r in rows]
                continue
            assert parts(views[name]) == parts(one_at_a_time(rows, watch, check))


def test_links_repeated_in_short_runs_are_one_string_each() -> None:
    """Batch mode's rows: a run link (and time) shared by the 1 or 2 rows sent together.
    Kept as one string per run, as a keeper a row at a time kept them: not one per row
    (~7 MB more on 100,000 rows)."""
    rng = random.Random(3)
    header = ["url", "Status", "Run link", "Message", "sheetsync id"]
    rows, link = [header], ""
    for i in range(3_000):
        if i == 0 or rng.random() < 0.7:  # runs of 1 or 2 rows: most of a batch differs
            link = f"https://app.axiom.ai/run/{i}"
        rows.append([f"u{i}", "triggered", "".join(link), "", f"r{i}"])  # a string each
    watch = build(Watch, {"name": "w", "spreadsheet": "s", "worksheet": "Q", "automation": "A"})
    view = lean_views(columns_of(rows), {"w": (watch, ())})["w"]
    links = (view.columns or {})[2]
    batches = -(-len(links) // first_read.POOL)
    assert len(set(map(id, links))) <= len(set(links)) + batches
