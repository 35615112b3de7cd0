"""PostgreSQL: a batch joins the journal by its primary key, whatever the statistics say.

A journal not analyzed since it was loaded has no column statistics, and the planner
then takes `watch = ? AND state = ?` (or a partial index's predicate) to match a few
rows. A batch join with such conditions may be planned through that index, scanned
whole for each row of the batch: rescheduling a 2,000-row run on a 200,000-row journal
took 73 s so (0.2 s by the primary key). Here, on a journal of 20,000 running, unshown
rows that was never analyzed, what the plan of each batch statement reads of `rows` for
each row of the batch, it reads by `rows_pkey`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from sheetsync.adapters.store.journal_records import Outcome
from sheetsync.adapters.store.pg_bulk import batch
from sheetsync.adapters.store.pg_journal_sql import SHOWN
from sheetsync.adapters.store.pg_runs import _OUTCOME, _RESCHEDULE

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
ROWS = 20_000


def scans(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(relation, how) of every scan under `node`: the index name (a bitmap heap scan:
    those of its bitmap index scans), or the node type (a sequential scan)."""
    relation = node.get("Relation Name")
    if relation and node["Node Type"] != "ModifyTable":
        hows = [node["Index Name"]] if "Index Name" in node else list(_bitmaps(node))
        for how in hows or [node["Node Type"]]:
            yield relation, how
    for child in node.get("Plans", []):
        if node["Node Type"] != "Bitmap Heap Scan":
            yield from scans(child)


def _bitmaps(node: dict[str, Any]) -> Iterator[str]:
    for child in node.get("Plans", []):
        if child["Node Type"] == "Bitmap Index Scan":
            yield child["Index Name"]
        yield from _bitmaps(child)


def per_row(node: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The scans a plan repeats for each row of its outer side: the inner side of every
    nested loop (a hash join reads its inner side once)."""
    children = node.get("Plans", [])
    if node["Node Type"] == "Nested Loop":
        yield from scans(children[1])
    for child in children:
        yield from per_row(child)


@pytest.fixture
def journal(pg_backend: Backend) -> Backend:
    """20,000 rows of watch a triggered with run tracking: running, not shown yet (and
    never analyzed, also where autovacuum is on)."""
    pg_backend.execute("ALTER TABLE rows SET (autovacuum_enabled = false)")
    store = pg_backend.open()
    ids = [f"r{i:05d}" for i in range(ROWS)]
    store.claim("a", [(i, f"fp-{i}", "Scrape") for i in ids], T0)
    store.mark_sending("a", ids, T0)
    poll = (T0 + timedelta(seconds=5), 5.0)
    store.record("a", ids, Outcome("triggered", "l"), T0, poll=poll)
    return pg_backend


def plan_of(backend: Backend, sql: str, params: tuple[object, ...]) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(backend.target, autocommit=True) as conn:
        analyzed = conn.execute(
            "SELECT last_analyze IS NULL AND last_autoanalyze IS NULL FROM pg_stat_user_tables"
            " WHERE relname = 'rows'"
        ).fetchone()
        found = conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()
    assert analyzed == (True,), "the journal must not have been analyzed for this test"
    assert found is not None
    plan = found[0] if isinstance(found[0], list) else json.loads(found[0])
    return dict(plan[0]["Plan"])


def test_batch_statements_read_rows_by_the_primary_key(journal: Backend) -> None:
    """mark_shown, record and reschedule: what a plan reads of `rows` for each batch row,
    it reads by `rows_pkey` (once per statement it may read the watch's rows)."""
    found = journal.execute(
        "SELECT row_id, state, link, message, triggered_at, run_status FROM rows"
        " WHERE watch = 'a' AND NOT shown AND run_status = 'running'"
    )
    assert len(found) == ROWS
    ids = batch([[r[0]] for r in found])
    statements = {
        "mark_shown": (SHOWN, (batch([list(r) for r in found]), "a")),
        "record": (_OUTCOME, ("error", "", "x", "", "", "", "error", "s", "a", ids)),
        "reschedule": (_RESCHEDULE, ("p", 5.0, "s", batch([["a", r[0]] for r in found]))),
    }
    for name, (sql, params) in statements.items():
        plan = plan_of(journal, sql, params)
        assert "rows" in {relation for relation, _ in scans(plan)}, name
        repeated = {how for relation, how in per_row(plan) if relation == "rows"}
        assert repeated <= {"rows_pkey"}, (name, repeated)
