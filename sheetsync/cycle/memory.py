"""What the engine remembers of the watches it serves between cycles: read plans, which
watches started, which tabs were small, and when new rows were first seen. The journal
holds the durable part; this process keeps copies (`forget` drops them on a handover).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sheetsync.adapters.store.protocol import Store
from sheetsync.config import Watch
from sheetsync.core.narrow import ReadPlan, settings_key


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

    def forget(self, name: str) -> None:
        """Drop what this process remembers of a watch whose spreadsheet changed hands."""
        self._plans.pop(name, None)
        self.small.pop(name, None)
        self._started.discard(name)
        self.first_seen.pop(name, None)
