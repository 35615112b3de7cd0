"""Which spreadsheets this instance serves: the daemon's side of the store's leases.

SQLite holds every spreadsheet for as long as the process runs, so nothing here changes
a single box's daemon. On PostgreSQL the store's lease thread takes and loses
spreadsheets in the background (each taken one recovered first, see `postgres`); the
main loop calls `follow` every tick. A change drops the engine's caches of that
spreadsheet's watches (its saved read plan, started marks, first-seen times: the next
cycle reads it whole) and asks for a new schedule, so that only held spreadsheets are
read. A reload releases the spreadsheets the new config no longer names.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sheetsync.adapters.store.protocol import Change, LeaseEvent, Store
from sheetsync.adapters.store.units import units_of
from sheetsync.config import Config, Watch
from sheetsync.cycle.engine import Engine

log = logging.getLogger("sheetsync.leasing")


def serving(store: Store, watches: Sequence[Watch]) -> list[Watch]:
    """The watches whose spreadsheet this instance holds now (SQLite: all of them)."""
    held = store.held()
    return [w for w in watches if w.spreadsheet_id in held]


def share(store: Store, config: Config) -> tuple[int, int] | None:
    """(spreadsheets held here, spreadsheets configured) on PostgreSQL, for STATUS= and the
    metrics; None on SQLite, where one process holds every spreadsheet."""
    if not config.state.postgres:
        return None
    configured = {w.spreadsheet_id for w in config.watches}
    return len(configured & set(store.held())), len(configured)


class Leasing:
    """Follows the lease changes of one store for the daemon."""

    def __init__(self, store: Store, *, fleet: bool = False) -> None:
        self.store = store
        self.level = logging.INFO if fleet else logging.DEBUG
        """Changes of hands are news in a fleet; SQLite's reloads log as they always did."""
        self._refused: set[str] = set()  # spreadsheets already logged as refused

    def follow(self, config: Config, engine: Engine) -> bool:
        """Apply the changes the lease thread found since the last call; whether the
        spreadsheets served changed (then the schedule must be rebuilt)."""
        return self.apply(self.store.events(), config, engine)

    def apply(self, events: Sequence[LeaseEvent], config: Config, engine: Engine) -> bool:
        """Drop the caches of every spreadsheet that changed hands; log each change."""
        changed = False
        for event in events:
            names = [w.name for w in config.watches if w.spreadsheet_id == event.unit]
            if event.change is Change.REFUSED:
                if event.unit not in self._refused:
                    self._refused.add(event.unit)
                    log.error(
                        "spreadsheet %s is served by another instance whose config differs "
                        "for it (watches %s): use the same config on every instance",
                        event.unit,
                        ", ".join(names),
                    )
                continue
            changed = True
            engine.forget(event.unit, names)
            if event.change is Change.ACQUIRED:
                self._refused.discard(event.unit)
                self._acquired(event, names)
            else:
                log.log(
                    self.level,
                    "spreadsheet %s (epoch %d): not served here",
                    event.unit,
                    event.epoch,
                )
        return changed

    def _acquired(self, event: LeaseEvent, names: Sequence[str]) -> None:
        log.log(
            self.level,
            "spreadsheet %s (epoch %d): now served here (watches %s)",
            event.unit,
            event.epoch,
            ", ".join(names),
        )
        if event.recovered:
            log.warning(
                "spreadsheet %s: %d row(s) were being sent by its previous holder; marked "
                "unknown (check axiom's run history, then type retry to resend)",
                event.unit,
                event.recovered,
            )

    def reload(self, config: Config, engine: Engine) -> None:
        """A new config: release the spreadsheets it no longer names, serve its own."""
        events = self.store.retarget(units_of(config.watches))
        self.apply(events, config, engine)
