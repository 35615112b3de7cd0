"""What a reload (SIGHUP) changes, in words: the keys that need a restart and are kept as
they were (a WARNING each), and the watches added and removed (the INFO line's tail).

The daemon (`sheetsync.service.daemon.Daemon.reload`) re-reads the config, keeps the old
one when the new one is invalid, and otherwise adopts it.
"""

from __future__ import annotations

import logging

from sheetsync.config import Config

log = logging.getLogger("sheetsync.daemon")  # the daemon's lines, as operators grep them


def warn_kept(old: Config, new: Config, where: str) -> None:
    """A WARNING for each changed key that only a restart applies; `where` is the journal's."""
    if (new.state_path, new.state.url) != (old.state_path, old.state.url):
        key = "url" if old.state.postgres else "path"  # SQLite's words as ever
        log.warning("[state] %s changes need a restart; keeping %s", key, where)
    if new.metrics.listen != old.metrics.listen:
        kept = old.metrics.listen or "no metrics"
        log.warning("[metrics] listen changes need a restart; keeping %s", kept)


def changes(old: Config, new: Config) -> str:
    """`2 watch(es) (added: leads; removed: old)`: the new watches and what changed."""
    before = {w.name for w in old.watches}
    after = {w.name for w in new.watches}
    changed = [
        f"{what}: {', '.join(sorted(names))}"
        for what, names in (("added", after - before), ("removed", before - after))
        if names
    ]
    return f"{len(new.watches)} watch(es)" + (f" ({'; '.join(changed)})" if changed else "")
