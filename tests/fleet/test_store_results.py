"""`Store.result_pages`: every row's result fields, page by page, on both backends.

A takeover's first cycle compares what each row shows with what the journal says it
should show (`core.reprojection`) without loading 100,000 entries: the pages must hold
every row of the watch once, in row id order, with the fields an entry projects and its
shown flag; on PostgreSQL each page is one statement, however many rows it holds.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from sheetsync.adapters.store.journal_landing import Adoption
from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.adapters.store.protocol import Store
from sheetsync.core.model import Result

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def adopted(n: int, start: int = 0) -> list[Adoption]:
    return [
        Adoption(f"r{i:05d}", "triggered", f"fp{i}", link=f"https://run/{i}", message="ok")
        for i in range(start, start + n)
    ]


def test_pages_hold_every_row_once_in_row_id_order(store: Store) -> None:
    store.adopt("a", adopted(5), at(0), "test")
    store.adopt("b", adopted(2, start=100), at(0), "test")  # another watch: not a's
    store.claim("a", [("c1", "fp-c1", "Scrape")], at(1))
    store.claim("a", [("c2", "fp-c2", "Scrape")], at(1))
    store.mark_checked("a", ["c1", "c2"])
    store.mark_sending("a", ["c2"], at(2))
    store.record("a", ["c2"], Outcome("error", "", "axiom said no"), at(3))
    pages = list(store.result_pages("a", size=3))
    assert [len(p) for p in pages] == [3, 3, 1]
    rows = [r for page in pages for r in page]
    assert [r.row_id for r in rows] == ["c1", "c2", *[f"r{i:05d}" for i in range(5)]]
    assert rows[0] == Result("c1", "claimed", "", "", "", "", False)
    assert rows[1] == Result("c2", "error", "", "axiom said no", "", "", False)
    entries = store.entries("a", at(4))
    for r in rows[2:]:
        e = entries[r.row_id]
        assert (r.state, r.link, r.message, r.shown) == (e.state, e.link, e.message, e.shown)
        assert r.link.startswith("https://run/")
    assert list(store.result_pages("c")) == []


def test_every_field_of_a_page_lines_up_with_its_row(store: Store) -> None:
    """A page is a list per field (on PostgreSQL, one JSON list each): every field of
    every row is its own row's, each field differing from row to row (the review's
    mutant: two of PostgreSQL's lists in the other order passed every other test)."""
    runs = ["success", "failure", "untracked", "", "overlapped", "running", "success"]
    rows = [
        Adoption(
            f"r{i:05d}",
            ("triggered", "error", "queued")[i % 3],
            f"fp{i}",
            link=f"https://run/{i}",
            message=f"m{i}",
            triggered_at=f"2026-01-01T00:00:{i:02d}Z",
            run_status=runs[i],
            shown=i % 2 == 0,
        )
        for i in range(7)
    ]
    store.adopt("a", rows, at(0), "test")
    got = [r for page in store.result_pages("a", size=3) for r in page]
    assert got == [
        Result(a.row_id, a.state, a.link, a.message, a.triggered_at, a.run_status, a.shown)
        for a in rows
    ]


def test_an_exact_multiple_of_the_page_size_ends(store: Store) -> None:
    store.adopt("a", adopted(4), at(0), "test")
    assert [len(p) for p in store.result_pages("a", size=2)] == [2, 2]
    assert [len(p) for p in store.result_pages("a", size=4)] == [4]


def test_the_shown_flag_follows_mark_shown(store: Store) -> None:
    store.adopt("a", adopted(3), at(0), "test")
    store.record("a", ["r00001"], Outcome("error", "", "again"), at(1))
    shown = {r.row_id: r.shown for p in store.result_pages("a") for r in p}
    assert shown["r00001"] is False
    store.mark_shown("a", [store.entries("a", at(2))["r00001"]])
    shown = {r.row_id: r.shown for p in store.result_pages("a") for r in p}
    assert shown["r00001"] is True


@pytest.mark.parametrize("rows", [10, 2_000])
def test_postgres_sends_one_statement_per_page(
    pg_backend: Backend, monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    store = pg_backend.open()
    store.adopt("a", adopted(rows), at(0), "test")
    import psycopg

    sent: list[str] = []
    thread, execute = threading.get_ident(), psycopg.Cursor.execute

    def counted(cursor: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        if threading.get_ident() == thread:
            sent.append(str(query))
        return execute(cursor, query, params, **kw)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    pages = list(store.result_pages("a", size=5_000))
    sent = [q for q in sent if q.strip()]  # the pool's own empty checks aside
    assert len(sent) == 2 and "enable_sort" in sent[0] and "json_agg" in sent[1]
    assert sum(len(p) for p in pages) == rows


def test_postgres_pages_walk_the_primary_key_without_sorting(pg_backend: Backend) -> None:
    """On a journal never analyzed (as a new one is), each page reads its rows in key
    order: no sort of every row after the page's start (20 sorts of up to 200,000 rows
    in a 200,000-row takeover)."""
    import psycopg

    from sheetsync.adapters.store.pg_journal_sql import ORDERED_READ, RESULT_PAGE

    store = pg_backend.open()
    store.adopt("a", adopted(2_000), at(0), "test")
    with psycopg.connect(pg_backend.target) as conn, conn.transaction():
        conn.execute(ORDERED_READ)
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + RESULT_PAGE, ("a", "", 500)))
    assert "Index Scan using rows_pkey" in plan, plan
    assert "Sort" not in plan.replace("Sort Key", ""), plan
