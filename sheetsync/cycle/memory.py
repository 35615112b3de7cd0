"""What the engine remembers of the watches it serves between cycles: read plans, which
watches started, which tabs were small, when new rows were first seen, and the last
narrow read's scan. The journal holds the durable part; this process keeps copies
(`forget` drops them on a handover).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.layout import Layout
from sheetsync.core.narrow import ReadPlan, settings_key
from sheetsync.core.view import Scan, View, scan


class Memory:
    """Per-watch facts a cycle reads before its first read and keeps after it."""

    def __init__(self, journal: Store, now: Callable[[], datetime]) -> None:
        self.journal = journal
        self.now = now
        self._started: set[str] = set()
        self.small: dict[str, bool] = {}
        """Watches read since this process took their spreadsheet -> whether the last read
        found the tab small (then it is read whole, decoded at once)."""
        self._plans: dict[str, str | None] = {}
        """Each watch's saved read plan, as last read or written."""
        self.first_seen: dict[str, dict[str, datetime]] = {}
        """`settle_seconds`: per watch, when each new row's current look was first read."""
        self._scans: dict[str, tuple[tuple[object, ...], Scan]] = {}
        """Per watch, the last narrow read's scan and what it was computed from."""

    def plan_text(self, watch: Watch) -> str | None:
        """A watch's saved read plan, read from the journal once (this process owns it)."""
        if watch.name not in self._plans:
            self._plans[watch.name] = self.journal.read_plan(watch.name)
        return self._plans[watch.name]

    def save_plan(self, watch: Watch, plan: ReadPlan | None) -> None:
        """Keep the next cycle's read plan when it changed."""
        text = plan.dumps() if plan is not None else None
        if text != self.plan_text(watch):
            self.journal.save_plan(watch.name, text)
            self._plans[watch.name] = text

    def lean(self, name: str) -> bool:
        """Whether a whole read of this watch's tab is kept as `first_read` says: on its
        first cycle ever (or with a lost journal), or once this process served it and found
        it big; not on the first cycle after a takeover, which projects every row again
        (unless kept lean by `reprojects`)."""
        if name in self.small:
            return not self.small[name]
        return not self.journal.has_started(name)

    def reprojects(self, watch: Watch) -> bool:
        """Whether this watch's first cycle in this process reads its tab whole although it
        started before, for want of a read plan that fits (a takeover dropped it, or the
        settings changed): every row is projected again. Such a read is kept lean too,
        and every row's result cells compared with the journal's (`core.reprojection`).
        (With a plan that fits, a whole read is a crash's to recover, kept lean as ever.)"""
        if watch.name in self.small or not self.journal.has_started(watch.name):
            return False
        text = self.plan_text(watch)
        plan = ReadPlan.loads(text) if text is not None else None
        return plan is None or plan.settings != settings_key(watch)

    def has_started(self, watch: Watch) -> bool:
        return watch.name in self._started or self.journal.has_started(watch.name)

    def mark_started(self, watch: Watch) -> None:
        if watch.name not in self._started:
            if not self.journal.has_started(watch.name):
                self.journal.mark_started(watch.name, self.now())
            self._started.add(watch.name)

    def scan(self, view: View, layout: Layout, watch: Watch) -> Scan:
        """`core.view.scan` of a read, the last cycle's when a narrow read's status and id
        columns, height and status words are as then (compared cell by cell): indexing the
        same 100,000 ids again was a third of an idle cycle's CPU on such a tab. A whole
        read is scanned afresh. The scan is shared: nothing changes it."""
        if view.columns is None:
            self._scans.pop(watch.name, None)
            return scan(view, layout, watch)
        status_col, id_col = layout.results["status"], layout.results["id"]
        words = (watch.statuses.retry, watch.statuses.sending)
        cells = (view.columns.get(status_col, ()), view.columns.get(id_col, ()))
        key: tuple[object, ...] = (status_col, id_col, len(view.table), words, *cells)
        kept = self._scans.get(watch.name)
        if kept is not None and kept[0] == key:
            return kept[1]
        found = scan(view, layout, watch)
        self._scans[watch.name] = (key, found)
        return found

    def forget(self, name: str) -> None:
        """Drop what this process remembers of a watch whose spreadsheet changed hands."""
        self._scans.pop(name, None)
        self._plans.pop(name, None)
        self.small.pop(name, None)
        self._started.discard(name)
        self.first_seen.pop(name, None)
