"""What a read says about rows sheetsync wrote: answers that never came, strays, owners.

Before a read's rows are planned: the aims of a write whose answer never came are
checked against the read (rows showing that write's cells: the right row, or a stray);
strays are located and their repairs planned (a row given an id of its own is recorded
in the journal first); every id gets its owning row (`ownership`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sheetsync.adapters.store.journal_landing import Adoption
from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.landing import Aim, Sent, Stray, id_kept, inputs_of, signature
from sheetsync.core.layout import Layout
from sheetsync.core.model import CellWrite, Entry
from sheetsync.core.ownership import Owners, owners
from sheetsync.core.plan import cell, new_row_id
from sheetsync.core.projection import desired_cells
from sheetsync.core.strays import (
    emptied,
    held_again,
    is_stray,
    prior_from_entry,
    repair,
    shows,
    shows_link,
)
from sheetsync.core.view import Scan, View
from sheetsync.core.writes import Write
from sheetsync.cycle.landings import Places, keep_strays
from sheetsync.cycle.misses import Misses

log = logging.getLogger("sheetsync.engine")

HIT_BY_MISTAKE = "a write hit it by mistake"
"""Why a stray given an id of its own is recorded (its history line says so)."""


@dataclass
class Reconciled:
    """A read's owners, and the writes that put strays back."""

    owners: Owners
    writes: list[CellWrite] = field(default_factory=list)
    aims: list[Aim] = field(default_factory=list)
    repairs: dict[int, Stray] = field(default_factory=dict)
    """Rows put back by `writes` -> their stray (dropped once the write lands there)."""
    unsure: bool = False
    """A stray's rows were not all read whole: a narrow read must read the tab whole."""
    unread: set[int] = field(default_factory=set)
    """Rows that may be strays, not read whole: the next narrow read takes them whole."""

    @property
    def put_back(self) -> Write:
        """The writes that put strays back, as part of the next write."""
        return Write(self.writes, self.aims, repairs=self.repairs)


class Reconciler:
    """Checks a read against the journal's record of sheetsync's own writes."""

    def __init__(
        self, journal: Store, now: Callable[[], datetime], misses: Misses | None = None
    ) -> None:
        self.journal = journal
        self.now = now
        self.misses = misses
        """Read 1's: late claim writes one row off become strays (read 2 leaves them to
        the next read 1, which reads their rows whole: `narrow.needs_inputs`)."""

    def reconcile(
        self,
        watch: Watch,
        view: View,
        layout: Layout,
        found: Scan,
        entries: dict[str, Entry],
    ) -> Reconciled:
        """Owners and stray repairs for a read (`entries`: the journal rows it needs)."""
        table = view.table
        self._check_unanswered(watch, table, layout, found, entries)
        out = Reconciled(Owners({}))
        if self.misses is not None:  # a late claim write one row off: a stray to locate
            out.unread = self.misses.record(watch, view, layout, found, entries)
        located = self._locate(watch, view, layout, found, out)
        out.owners = owners(found.holders, found.extra, table, view.known, layout, entries, located)
        adoptions: list[Adoption] = []
        for number, target in sorted(located.items()):
            row = table[number - 1]
            writes, aim, adopt = repair(row, number, target, layout, watch, new_row_id)
            out.writes += writes
            out.aims.append(aim)
            out.repairs[number] = target
            if adopt is not None:
                adoptions.append(_adoption(adopt, target, writes, row, layout))
        if adoptions:
            self.journal.adopt(watch.name, adoptions, self.now(), HIT_BY_MISTAKE)
            ids = [a.row_id for a in adoptions]
            entries.update(self.journal.entries_needed(watch.name, self.now(), ids))
        if located:
            log.warning(
                "watch %s: putting back %d row(s) a write landed on while rows moved",
                watch.name,
                len(located),
            )
        return out

    def _locate(
        self, watch: Watch, view: View, layout: Layout, found: Scan, out: Reconciled
    ) -> dict[int, Stray]:
        """The rows of the read that are strays; strays whose rows are gone are marked so
        (an undo may bring them back); `out` learns what a narrow read could not tell."""
        table, known = view.table, view.known
        located: dict[int, Stray] = {}
        gone: list[Stray] = []
        done: list[Stray] = []
        windows = known is not None and view.columns is None  # no id column: rows elsewhere
        places = Places(found, table, layout)  # the rows without an id, walked once
        for target, was_gone in self.journal.strays(watch.name):
            rows = found.rows_of(target.row_id) if target.row_id else places.without_id()
            unseen = [n for n in rows if known is not None and n not in known]
            if windows or unseen:
                out.unsure = out.unsure or not was_gone
                out.unread.update(unseen)
                continue
            hit = [n for n in rows if is_stray(table[n - 1], layout, target)]
            hit = hit or [n for n in rows if shows_link(table[n - 1], layout, target)]
            if hit and all(held_again(table[n - 1], layout, target) for n in hit):
                done.append(target)  # else put back on every read, its row never sent
            elif hit:
                located.update((n, target) for n in hit)
                if was_gone:  # an undo brought it back
                    self.journal.mark_strays_gone(watch.name, [target], gone=False)
            elif not was_gone:  # deleted (an undo may bring it back), or put back by a person
                gone.append(target)
        self.journal.mark_strays_gone(watch.name, gone)
        self.journal.drop_strays(watch.name, done)
        return located

    def _entry(self, watch: Watch, row_id: str) -> Entry | None:
        return self.journal.entries_needed(watch.name, self.now(), [row_id]).get(row_id)

    def _check_unanswered(
        self,
        watch: Watch,
        table: Sequence[Sequence[str]],
        layout: Layout,
        found: Scan,
        entries: dict[str, Entry],
    ) -> None:
        """A write whose answer never came: rows showing its cells are its landings."""
        rows = self.journal.unanswered(watch.name)
        if not rows:
            return
        landed: list[str] = []
        strays: list[Stray] = []
        written: dict[tuple[int, ...], dict[str, Sent]] = {}
        for target in rows:
            written.setdefault(target.skip, {})[target.signature] = target
        places, hit_rows = Places(found, table, layout, rows), set()
        for target in rows:
            if not target.written:
                continue  # a row next to a written one: only a past to look up
            kept = id_kept(target.wrote)
            for number in places.landings(target):
                row = table[number - 1]
                row_id = cell(row, layout.results["id"]).strip() if kept else target.row_id
                probe = Stray(row_id, inputs_of(row, layout), target.wrote, None)
                if number in hit_rows or not shows(row, layout, probe):
                    continue  # not (or no longer) what that write left, or told already
                # a write that left the id alone reached the row holding it (identity is
                # the id: a person may have edited its inputs since)
                mine = kept and bool(row_id) and row_id == target.row_id
                if mine or signature(row, layout, target.skip) == target.signature:
                    landed.append(target.row_id)
                    continue
                told = _shifted(row, layout, probe, written) or emptied(probe, row, target.skip)
                hit = told or self._past(watch, probe, found, entries)
                if target.row_id or hit.prior is not None:  # else: a new row, as it was
                    strays.append(hit)
                    hit_rows.add(number)
        self._answered(watch, landed, strays, entries)

    def _answered(
        self, watch: Watch, landed: list[str], strays: list[Stray], entries: dict[str, Entry]
    ) -> None:
        """Record what a lost answer's check found: claims seen on their rows, strays."""
        claims = [r for r in landed if (e := entries.get(r)) and e.state == "claimed"]
        self.journal.mark_checked(watch.name, claims)
        for row_id in claims:
            entries[row_id] = replace(entries[row_id], checked=True)
        # a stray the write's answer already recorded (a kill came before the write's end)
        # was told from the read before the write: never replace it with less; a row hit
        # before keeps what it held before the first hit, not what that hit left
        keep_strays(self.journal, watch.name, strays, self.now(), keep_told=True)
        self.journal.answered(watch.name)

    def _past(self, watch: Watch, target: Stray, found: Scan, entries: dict[str, Entry]) -> Stray:
        """A stray found without the read before its write: the journal's row with its
        inputs whose id the sheet no longer shows, if there is exactly one."""
        orphans = [
            r
            for r in self.journal.ids_with_fingerprint(watch.name, target.fingerprint)
            if r not in found.holders and r != target.row_id
        ]
        if len(orphans) != 1:
            return target
        entry = entries.get(orphans[0]) or self._entry(watch, orphans[0])
        if entry is None or entry.state == "foreign":  # a person's cells: the journal lacks them
            return target
        cells = desired_cells(entry, watch)
        return prior_from_entry(target, orphans[0], cells)


def _shifted(
    row: Sequence[str],
    layout: Layout,
    target: Stray,
    written: Mapping[tuple[int, ...], dict[str, Sent]],
) -> Stray | None:
    """A stray that another row of the same write was aimed at (the write landed shifted):
    what that row held when read is what it gets back. `written`: the write's rows by
    their skipped columns and signature."""
    kinds = {k for k, _ in target.wrote}
    for skip, rows in written.items():
        other = rows.get(signature(row, layout, skip))
        if other is None:
            continue
        before = dict(other.before)
        if kinds <= set(before):
            prior = tuple((k, before[k]) for k, _ in target.wrote)
            return Stray(target.row_id, target.fingerprint, target.wrote, prior)
    return None


def _adoption(
    adopt: tuple[str, str],
    target: Stray,
    writes: Sequence[CellWrite],
    row: Sequence[str],
    layout: Layout,
) -> Adoption:
    """The journal row for a stray that gets an id of its own, as the sheet will show it."""
    row_id, state = adopt
    after = {w.col - 1: w.value for w in writes}

    def shown(kind: str) -> str:
        col = layout.results.get(kind)
        if col is None:
            return ""
        return after.get(col, cell(row, col))

    return Adoption(
        row_id,
        state,
        target.fingerprint,
        link=shown("link"),
        message=shown("message"),
        triggered_at=shown("triggered_at"),
        run_status="",
    )
