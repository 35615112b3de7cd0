"""Builds the adapters a config asks for and runs cycles of every watch.

Shared by `once`, `run` and `demo`: the Google identities behind one sheet port, one
axiom client (and so one pace per key), one journal, one engine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sheetsync.axiom import AxiomClient
from sheetsync.config import Config, Watch
from sheetsync.drive import SCOPE as DRIVE_SCOPE
from sheetsync.engine import Engine, group_watches
from sheetsync.identities import Identity, SheetRouter
from sheetsync.journal import Journal
from sheetsync.pacing import fingerprint, limiter_for
from sheetsync.report import CycleReport
from sheetsync.schedules import assign
from sheetsync.sheet import SCOPES, GoogleSheets

log = logging.getLogger("sheetsync")


@dataclass
class Runtime:
    """Everything one process needs to run cycles for a config."""

    config: Config
    journal: Journal
    sheets: SheetRouter
    axiom: AxiomClient
    engine: Engine

    def cycle(self, watch: Watch) -> CycleReport:
        """Run one cycle of a watch and log its one-line summary."""
        return self.cycle_group([watch])[0]

    def cycle_group(self, watches: Sequence[Watch]) -> list[CycleReport]:
        """One cycle of watches sharing a spreadsheet; one log line per watch."""
        reports = self.engine.run_group(watches)
        for report in reports:
            if report.error:
                log.error("watch %s: %s", report.watch, report.error)
            else:
                log.info("%s", report.line())
        return reports

    def cycle_all(self) -> list[CycleReport]:
        """One cycle of every enabled watch, grouped by spreadsheet and schedule."""
        return [r for group in group_watches(self.config.watches) for r in self.cycle_group(group)]

    def close(self) -> None:
        """Release the journal and its lock."""
        self.journal.close()


def build_clients(
    config: Config,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> tuple[SheetRouter, AxiomClient]:
    """The Google and axiom adapters for a config (raises ConfigError for bad credentials).

    `sleep` and `monotonic` go together: a fake sleep must advance the fake clock.
    """
    sheets = build_router(config, sleep=sleep, monotonic=monotonic)
    assert config.axiom_key is not None, "load_config(secrets=True) resolves the key"
    key = config.axiom_key.reveal()
    settings = config.axiom
    limiter = limiter_for(
        "axiom-" + fingerprint(key), settings.calls_per_minute, clock=monotonic, sleep=sleep
    )
    axiom = AxiomClient(
        settings.base_url,
        key,
        limiter=limiter,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        retries=settings.max_retries,
        sleep=sleep,
    )
    return sheets, axiom


def build_router(
    config: Config,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> SheetRouter:
    """The config's Google identities behind one sheet port, each spreadsheet routed to one.

    Identities of one Cloud project (their key files' `project_id`) share its per-project
    budget: when their own budgets add up to more, each rota gets its share of it.
    """
    google = config.google
    built = []
    for settings in google.identities:
        budget = replace(
            google,
            reads_per_minute=settings.reads_per_minute or google.reads_per_minute,
            writes_per_minute=settings.writes_per_minute or google.writes_per_minute,
        )
        sheets = GoogleSheets(
            budget,
            config.key_path(settings),
            config.source,
            key_label=google.key_label(settings),
            scopes=(*SCOPES, DRIVE_SCOPE) if google.drive else SCOPES,
            sleep=sleep,
            clock=monotonic,
        )
        built.append((settings.name, sheets, float(budget.reads_per_minute)))
    asked: dict[str, float] = {}
    for _, sheets, reads in built:
        asked[sheets.project_id] = asked.get(sheets.project_id, 0.0) + reads
    project = google.project_reads_per_minute
    identities = []
    for name, sheets, reads in built:
        share = min(1.0, project / asked[sheets.project_id])
        limit = "reads_per_minute"
        if share < 1:
            limit = (
                f"its share of project {sheets.project_id}'s project_reads_per_minute = {project}"
            )
        identities.append(Identity(name, sheets, reads * share, limit))
    return SheetRouter(identities, assign(config.watches, identities, datetime.now(UTC)))


def open_runtime(
    config: Config,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    journal: Journal | None = None,
) -> Runtime:
    """Open the journal (taking its lock), recover from a previous stop, build the engine."""
    sheets, axiom = build_clients(config, sleep=sleep, monotonic=monotonic)
    if journal is None:
        journal = Journal(config.state_path)
        recovered = journal.recover(now())
        if recovered:
            log.warning(
                "%d row(s) were being sent when sheetsync last stopped; marked unknown "
                "(check axiom's run history, then type retry to resend)",
                recovered,
            )
    engine = Engine(sheets, axiom, journal, now=now, timer=monotonic)
    return Runtime(config, journal, sheets, axiom, engine)
