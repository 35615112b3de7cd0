"""PURE decisions of a cycle's writes: which rows go, what the first write claims, repairs,
skips and writes, and what a flush writes. The cycle (`cycle/engine`, `cycle/flushing`)
does the reads these need and executes the answers; see docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sheetsync.config import Watch
from sheetsync.core.landing import Aim, Stray, aims
from sheetsync.core.layout import Layout, trimmed_header
from sheetsync.core.model import Candidate, CellWrite, Entry, Projection, TriggerPlan
from sheetsync.core.plan import plan_triggers, settle, take_slots
from sheetsync.core.projection import claim_aims, header_writes
from sheetsync.core.view import Scan, View, layout_of, scan


@dataclass(frozen=True)
class Write:
    """A watch's next write, and what it must reach (`writeback` executes it)."""

    cells: list[CellWrite] = field(default_factory=list)
    aims: list[Aim] = field(default_factory=list)
    """What each written row must still hold (see `landing`)."""
    shown: list[Entry] = field(default_factory=list)
    """Entries the sheet shows as they are already (`Store.mark_shown`)."""
    showing: dict[str, Entry] = field(default_factory=dict)
    """Entries the write shows, once it reached their rows."""
    repairs: dict[int, Stray] = field(default_factory=dict)
    """Rows the write puts back -> their stray."""


@dataclass(frozen=True)
class Selection:
    """The candidates that go this cycle, their /trigger calls and why the others wait."""

    chosen: list[Candidate]
    plans: list[TriggerPlan]
    first_seen: dict[str, datetime]
    """`settle_seconds`: when each new row's current look was first read (keep it)."""
    settling: int = 0
    paused: int = 0
    held: int = 0


def select(
    candidates: Sequence[Candidate],
    layout: Layout,
    watch: Watch,
    first_seen: Mapping[str, datetime],
    now: datetime,
    *,
    in_flight: int,
    paused: bool,
) -> Selection:
    """Hold back rows still settling, triggers beyond `max_in_flight` (`in_flight` runs
    going) and, while `paused`, every row; plan the rest."""
    settled, seen = settle(candidates, first_seen, now, watch.settle_seconds)
    settling = len(candidates) - len(settled)
    if paused:
        return Selection([], [], seen, settling, paused=len(settled))
    plans = plan_triggers(settled, layout, watch)
    plans = take_slots(plans, in_flight, watch.max_in_flight)
    going = {row_id for plan in plans for row_id in plan.row_ids}
    chosen = [c for c in settled if c.row_id in going]
    return Selection(chosen, plans, seen, settling, held=len(settled) - len(chosen))


@dataclass(frozen=True)
class FirstWrite:
    """What a watch's first write claims, repairs, skips and writes."""

    write: Write
    claims: list[Candidate]
    """Rows to claim in the journal before the write (the write shows the claims)."""
    skip_ids: frozenset[str]
    """Ids of rows the write marks `skipped` (`start_from = "now"`)."""


def first_write(
    watch: Watch,
    layout: Layout,
    table: Sequence[Sequence[str]],
    entries: Mapping[str, Entry],
    claims: Sequence[Candidate],
    projection: Projection,
    put_back: Write,
    skips: Sequence[CellWrite],
) -> FirstWrite:
    """The first write: the header's added columns, skips, put-backs (`put_back`), the
    projection of rows not claimed now, and the claims. Rows claimed now are shown only
    once the flush found them on their row."""
    claimed_rows = {c.row_number for c in claims}
    claimed_ids = {c.row_id for c in claims}
    claim_cells, claimed = claim_aims(claims, table, layout, watch)
    repairs = [w for w in projection.writes if w.row not in claimed_rows]
    write = Write(
        cells=[*header_writes(layout), *skips, *put_back.cells, *repairs, *claim_cells],
        aims=[
            *aims(skips, table, layout),
            *put_back.aims,
            *(a for a in projection.aims if a.row not in claimed_rows),
            *claimed,
        ],
        shown=[entries[v] for v in projection.shown if v not in claimed_ids],
        showing={v: entries[v] for v in projection.showing if v not in claimed_ids},
        repairs=put_back.repairs,
    )
    id_col = layout.results["id"] + 1
    return FirstWrite(write, list(claims), frozenset(w.value for w in skips if w.col == id_col))


@dataclass(frozen=True)
class ReadWhole:
    """A flush read that cannot be trusted as read: read the tab whole and decide again."""

    reason: str


@dataclass(frozen=True)
class FlushScope:
    """What a flush read covers: its layout, its scan and the ids it may project."""

    layout: Layout
    found: Scan
    only: set[str]


def header_moved(view: View, prepared: Layout) -> ReadWhole | None:
    """A narrow flush read under a header other than the one read 1 saw: read it whole."""
    if view.known is not None and trimmed_header(view.table[0]) != prepared.header:
        return ReadWhole("header changed")
    return None


def flush_scope(
    view: View, prepared: Layout, watch: Watch, changed: set[str], claimed: set[str]
) -> FlushScope | ReadWhole:
    """A flush read's scope, or why the tab must be read whole: a narrow read (windows
    around the claims) whose header moved, or whose windows miss a claimed row."""
    narrow = view.known is not None
    moved = header_moved(view, prepared)
    if moved is not None:
        return moved
    # a narrow cycle's layout adds no column: its header is the header the first read saw
    layout = prepared if narrow else layout_of(watch, view.table)
    found = scan(view, layout, watch)
    only = changed | claimed
    if narrow:  # this cycle's rows must be in the windows; others wait (unshown)
        if (only & claimed) - set(found.holders):
            return ReadWhole("a claimed row left its window")
        only &= set(found.holders)
    return FlushScope(layout, found, only)


def flush_write(entries: Mapping[str, Entry], projection: Projection, put_back: Write) -> Write:
    """A flush's write: the projection of the rows in scope, then the put-backs."""
    return Write(
        cells=projection.writes + put_back.cells,
        aims=projection.aims + put_back.aims,
        shown=[entries[r] for r in projection.shown],
        showing={r: entries[r] for r in projection.showing},
        repairs=put_back.repairs,
    )
