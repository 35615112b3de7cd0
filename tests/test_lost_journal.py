"""Issue 10 point 5, the sheet's side: ids on the sheet that the journal does not know.

The state file was deleted or replaced: one ERROR names it and the count, `waiting` rows
are sent again (they never reached axiom), `sending` rows become `unknown` (recorded in
the journal with a message), and every other row is left as it is.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

from sheetsync.adapters.store.journal_landing import Adoption
from sheetsync.core import narrow
from sheetsync.cycle import orphans
from sheetsync.invariants import sent_urls
from sheetsync.testing import World

if TYPE_CHECKING:
    from tests.conftest import StateCopies

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]
ERROR = "does not know"


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]


def by_url(world: World) -> dict[str, dict[str, str]]:
    values = world.values()
    return {
        row[0]: dict(zip(values[0], [*row, *[""] * len(values[0])], strict=False))
        for row in values[1:]
    }


def test_rows_the_journal_does_not_know(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """A sheet handled under another state file: one ERROR, the waiting row goes, the
    sending row turns unknown, the rest stays as it is; nothing is said or sent twice."""
    world.sheet(
        [
            HEADER,
            ["https://a", "A", "triggered", "https://run/a", "", "ra0000000001"],
            ["https://b", "B", "waiting", "", "Rate limit (sheetsync retries)", "rb0000000002"],
            ["https://c", "C", "sending", "", "", "rc0000000003"],
            ["https://d", "D", "error", "", "Task not found", "rd0000000004"],
            ["https://e", "E", "done by hand"],
            ["https://f", "F"],
        ]
    )
    world.config({"mode": "row"})
    before = by_url(world)
    caplog.set_level(logging.INFO)
    world.once()
    [error] = errors(caplog)
    assert "4 rows" in error and ERROR in error
    if world.state_url is None:
        assert f"state file {world.folder / 'sheetsync.db'} does not know" in error
    else:  # the database by host and name (the test server's URL has no password)
        assert f"state database {world.state_url} does not know" in error
        assert "was the state database replaced?" in error and "state file" not in error
    after = by_url(world)
    assert sent_urls(world.axiom) == Counter({"https://b": 1, "https://f": 1})
    assert after["https://b"]["Status"] == "triggered"
    assert after["https://b"]["sheetsync id"] == "rb0000000002"
    assert after["https://c"]["Status"] == "unknown"
    assert "run history" in after["https://c"]["Message"]
    journal = world.runtime().journal
    assert journal.entries("w0", world.clock.now)["rc0000000003"].state == "unknown"
    for url in ("https://a", "https://d", "https://e"):
        assert after[url] == before[url]
    caplog.clear()
    world.once()
    world.once()
    assert errors(caplog) == []
    assert sent_urls(world.axiom) == Counter({"https://b": 1, "https://f": 1})
    assert by_url(world) == by_url(world) and by_url(world)["https://c"]["Status"] == "unknown"


def test_a_deleted_state_file_strands_no_waiting_row(
    world: World, caplog: pytest.LogCaptureFixture, state_copies: StateCopies
) -> None:
    """A row waits on a refused key; the state file is deleted; the next start sends it."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"]])
    world.config({"mode": "row"})
    world.axiom.script(["started", "invalid_key"])
    world.once()
    assert [r["Status"] for r in by_url(world).values()] == ["triggered", "waiting"]
    world.close_runtime()
    state_copies.lose(world)
    caplog.set_level(logging.ERROR)
    world.once()
    assert len(errors(caplog)) == 1 and "2 rows" in errors(caplog)[0]
    assert [r["Status"] for r in by_url(world).values()] == ["triggered", "triggered"]
    assert sent_urls(world.axiom) == Counter({"https://a": 1, "https://b": 2})  # b: refused once
    assert [t.outcome for t in world.axiom.triggers] == ["started", "invalid_key", "started"]


def test_an_older_journal_on_a_big_tab_is_noticed_on_start(
    world: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    state_copies: StateCopies,
) -> None:
    """A big tab read narrowly: a backup of the journal from before the last rows were
    handled is put back; the start notices it and the next (whole) read records them."""
    monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 10)
    world.sheet([HEADER, *[[f"https://r{i}", f"R{i}"] for i in range(20)]])
    world.config({"mode": "batch", "max_rows_per_trigger": 100})
    world.once()
    world.once()  # the read plan is in the journal: the next first read is narrow
    world.close_runtime()
    state_copies.backup(world)
    sid = world.spreadsheet_id
    world.google.insert_rows(sid, "Queue", 22, values=[["https://late", "L"]])
    world.axiom.script(["invalid_key"])
    world.once()
    assert by_url(world)["https://late"]["Status"] == "waiting"
    world.close_runtime()
    state_copies.restore(world)
    caplog.set_level(logging.ERROR)
    for _ in range(3):
        world.once()
    assert len(errors(caplog)) == 1 and "1 rows" in errors(caplog)[0]
    assert by_url(world)["https://late"]["Status"] == "triggered"
    assert sent_urls(world.axiom)["https://late"] == 2  # refused once, then sent once


def test_a_lost_journal_on_a_big_tab_loads_only_the_entries_it_needs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big tab (NARROW_FROM_ROWS = 10) whose journal is lost: all 40 handled rows are
    adopted, but the cycle loads the entries of the waiting row and the new row only
    (not one per handled row: ~50 MB on 100,000 rows); the waiting row and the new row
    are sent once, the rest stays as it is."""
    monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 10)
    done = [
        [f"https://{i}", f"P{i}", "triggered", f"https://run/{i}", "", f"r{i:011d}"]
        for i in range(40)
    ]
    waiting = ["https://w", "W", "waiting", "", "Rate limit (sheetsync retries)", "rw0000000001"]
    world.sheet([HEADER, *done, waiting, ["https://new", "N"]])
    world.config({"mode": "row"})
    journal = world.runtime().journal
    loaded: list[int] = []
    entries_needed = journal.entries_needed

    def counting(*args: object, **kwargs: object) -> object:
        found = entries_needed(*args, **kwargs)  # type: ignore[arg-type]
        loaded.append(len(found))
        return found

    monkeypatch.setattr(journal, "entries_needed", counting)
    before = by_url(world)
    world.once()
    assert journal.known_ids("w0", [r[5] for r in done]) == {r[5] for r in done}
    assert max(loaded) <= 2, loaded  # the waiting row's (and the new row's), never 41
    assert sent_urls(world.axiom) == Counter({"https://w": 1, "https://new": 1})
    after = by_url(world)
    assert all(after[r[0]] == before[r[0]] for r in done)


def test_a_lost_journal_adopts_a_big_tab_a_chunk_at_a_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows a big tab shows alike are adopted `ADOPT_CHUNK` ids a statement (the ids
    of 100,000 rows at once cost a few MB more at the cycle's peak), every one of them,
    with a history line a chunk."""
    monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 10)
    monkeypatch.setattr(orphans, "ADOPT_CHUNK", 7)
    done = [
        [f"https://{i}", f"P{i}", "triggered", "https://run/x", "", f"r{(i * 7919) % 1000:011d}"]
        for i in range(40)
    ]
    world.sheet([HEADER, *done, ["https://new", "N"]])
    world.config({"mode": "row"})
    journal = world.runtime().journal
    chunks: list[list[str]] = []
    adopt_alike = journal.adopt_alike

    def counting(watch: str, like: Adoption, ids: Sequence[str], *rest: Any) -> None:
        chunks.append(list(ids))
        adopt_alike(watch, like, ids, *rest)

    monkeypatch.setattr(journal, "adopt_alike", counting)
    world.once()
    ids = [r[5] for r in done]
    assert [len(c) for c in chunks] == [7, 7, 7, 7, 7, 5]
    assert [i for c in chunks for i in c] == sorted(ids)  # each chunk a run of the sorted ids
    assert journal.known_ids("w0", ids) == set(ids)
    lines = [e.detail for e in reversed(journal.latest("w0", 100)) if e.state == "adopted"]
    assert lines == [
        f"{len(c)} rows, {c[0]} to {c[-1]}: not in the journal; recorded as triggered"
        for c in chunks
    ]  # a line a chunk
    assert sent_urls(world.axiom) == Counter({"https://new": 1})


def test_a_lost_journal_adopts_rows_that_each_show_their_own_run_a_chunk_at_a_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row shows a run link of its own (and some a message of their own): still a
    statement and a history line a chunk of rows alike in status, not a transaction and
    a history line a row (100,000 of them took minutes); each row keeps its own cells."""
    monkeypatch.setattr(narrow, "NARROW_FROM_ROWS", 10)
    monkeypatch.setattr(orphans, "ADOPT_CHUNK", 7)
    done = [
        [f"https://{i}", f"P{i}", "triggered", f"https://run/{i}", "", f"r{i:011d}"]
        for i in range(20)
    ]
    done[3][4] = "a note of its own"
    failed = [[f"https://f{i}", "F", "error", "", f"HTTP 50{i}", f"rf{i:010d}"] for i in range(3)]
    sending = ["https://s", "S", "sending", "https://run/s", "", "rs0000000001"]
    waiting = ["https://w", "W", "waiting", "https://run/w", "Rate limit", "rw0000000001"]
    by_hand = ["https://h", "H", "done by hand", "https://elsewhere", "note", "rh0000000001"]
    world.sheet([HEADER, *done, *failed, sending, waiting, by_hand, ["https://new", "N"]])
    world.config({"mode": "row"})
    journal = world.runtime().journal
    calls = adoptions(journal, monkeypatch)
    world.once()
    assert sorted(calls) == [
        ("adopt", 2),  # the `sending` and `waiting` rows, read whole
        ("adopt_alike", 1),  # a person's row: none of its cells is the journal's
        ("adopt_shown", 3),
        ("adopt_shown", 6),
        ("adopt_shown", 7),
        ("adopt_shown", 7),
    ]
    entries = journal.entries("w0", world.clock())
    for row in [*done, *failed]:
        entry = entries[row[5]]
        assert (entry.state, entry.link, entry.message) == (
            "error" if row in failed else "triggered",
            row[3],
            row[4],
        )
    assert (entries["rs0000000001"].state, entries["rs0000000001"].link) == ("unknown", "")
    assert entries["rs0000000001"].message == orphans.LOST_SENDING_MESSAGE
    assert (entries["rh0000000001"].state, entries["rh0000000001"].link) == ("foreign", "")
    adopted = Counter(e.row_id for e in journal.latest("w0", 100) if e.state == "adopted")
    assert adopted == Counter({"*": 5, "rs0000000001": 1, "rw0000000001": 1})
    assert sent_urls(world.axiom) == Counter({"https://w": 1, "https://new": 1})


def adoptions(journal: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The journal's adoptions from now on: (method, rows or ids), one per call."""
    calls: list[tuple[str, int]] = []

    def counted(name: str, many: int) -> None:  # `many`: the position of the rows or ids
        original = getattr(journal, name)

        def counting(*args: Any) -> None:
            calls.append((name, len(args[many])))
            original(*args)

        monkeypatch.setattr(journal, name, counting)

    for name, many in (("adopt", 1), ("adopt_alike", 2), ("adopt_shown", 2)):
        counted(name, many)
    return calls
