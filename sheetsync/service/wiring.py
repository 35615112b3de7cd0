"""Builds the adapters a config asks for and runs cycles of every watch.

Shared by `once`, `run` and `demo`: the Google identities behind one sheet port, one
axiom client (and so one pace and one outage gate per key), one journal, one engine.
The journal keeps each pace's recent calls and the key's outage across restarts (see
`budgets`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sheetsync.adapters.axiom.client import AxiomClient
from sheetsync.adapters.axiom.outage import gate_for
from sheetsync.adapters.google.credentials import SCOPES
from sheetsync.adapters.google.identities import Identity, SheetRouter
from sheetsync.adapters.google.sheet import GoogleSheets
from sheetsync.adapters.google.transport import DEFAULT_CONNECT_TIMEOUT
from sheetsync.adapters.pacing import Pace, RollingLimiter, fingerprint, limiter_for
from sheetsync.adapters.store.opening import open_store
from sheetsync.adapters.store.protocol import Change, Store
from sheetsync.config import Config, Watch
from sheetsync.core import telemetry
from sheetsync.core.report import CycleReport
from sheetsync.cycle.engine import Engine, group_watches
from sheetsync.errors import ConfigError, JournalError
from sheetsync.service.drive import SCOPE as DRIVE_SCOPE
from sheetsync.service.problems import Problems, current_problems
from sheetsync.service.schedules import assign
from sheetsync.service.wall_clock import wall_clock

log = logging.getLogger("sheetsync")


@dataclass
class Runtime:
    """Everything one process needs to run cycles for a config."""

    config: Config
    journal: Store
    sheets: SheetRouter
    axiom: AxiomClient
    engine: Engine
    problems: Problems = field(default_factory=Problems)
    """Open problems; a reload hands the daemon's on to the new runtime."""

    def cycle(self, watch: Watch) -> CycleReport:
        """Run one cycle of a watch and log its one-line summary."""
        return self.cycle_group([watch])[0]

    def cycle_group(self, watches: Sequence[Watch]) -> list[CycleReport]:
        """One cycle of watches sharing a spreadsheet; one log line per watch, and each
        problem logged when it begins and when it clears (see `sheetsync.service.problems`)."""
        self._before(watches[0].spreadsheet_id)
        reports = self.engine.run_group(watches)
        now = self.engine.now()
        for report in reports:
            if report.lost:  # the spreadsheet changed hands mid-cycle: its holder carries on
                log.info("%s", report.line())
                continue
            waiting = self._keep(report, now)
            if report.error:
                log.debug("watch %s: %s", report.watch, report.error)
            else:
                log.info("%s", report.line())
            self.problems.update(report.watch, current_problems(report, waiting), now)
            telemetry.current().cycle(report, now.timestamp())
        return reports

    def _before(self, unit: str) -> None:
        """What a fleet's peers did meanwhile (SQLite: nothing): answers a former holder of
        the spreadsheet got after losing it land on its rows still `unknown` (this cycle
        writes them), and the key's outage gate closes if a peer closed it."""
        try:
            applied = self.journal.apply_late(unit, self.engine.now())
            self.journal.follow_gate(self.axiom.gate, self.axiom.limiter.name)
        except JournalError as exc:  # the cycle meets it again, and reports it
            log.debug("spreadsheet %s: peers' news not read: %s", unit, exc)
            return
        if applied:
            log.info(
                "spreadsheet %s: %d late answer(s) of its former holder applied", unit, applied
            )

    def _keep(self, report: CycleReport, now: datetime) -> dict[str, int]:
        """Save what the cycle held back, count its rows needing a person (for STATUS=) and
        read its rows waiting, by reason; a journal that fails (disk full, read-only) fails
        the report, to be logged once as a problem."""
        store = self.journal
        waiting: dict[str, int] = {}
        try:
            waiting = store.waiting_by_reason(report.watch)
            self.problems.attend(report.watch, store.needing_a_person(report.watch))
            held, settling, error = report.held, report.settling, report.error or ""
            store.save_cycle(report.watch, now, held, settling, error)
        except JournalError as exc:
            report.fail(str(exc), "journal")
        return waiting

    def cycle_all(self) -> list[CycleReport]:
        """One cycle of every enabled watch whose spreadsheet this instance holds (SQLite:
        every one), grouped by spreadsheet and schedule."""
        held = self.journal.held()
        groups = group_watches(self.config.watches)
        for group in groups:
            if group[0].spreadsheet_id not in held:
                names = ", ".join(w.name for w in group)
                log.info("watch %s: its spreadsheet is served by another instance", names)
        mine = [g for g in groups if g[0].spreadsheet_id in held]
        return [r for group in mine for r in self.cycle_group(group)]

    def close(self) -> None:
        """Release the journal and its lock (the shared paces and gate stop recording);
        sends whose record failed are recorded first where the journal lets them."""
        self.engine.unsettled.settle_all()
        for limiter in paces(self.sheets, self.axiom):
            if isinstance(limiter, RollingLimiter):
                limiter.log = None
        self.axiom.gate.store = None
        self.journal.close()


def paces(router: SheetRouter, axiom: AxiomClient) -> list[Pace]:
    """The limiters of a runtime's adapters: the axiom key's, and each Google identity's
    and Cloud project's reads and writes (each once)."""
    found: list[Pace | None] = [axiom.limiter]
    for identity in router.identities.values():
        http = identity.sheets.http
        found += [http.read_limiter, http.write_limiter, *http.project_limiters.values()]
    return list({id(lim): lim for lim in found if lim is not None}.values())


def share_paces(
    store: Store, router: SheetRouter, axiom: AxiomClient, now: Callable[[], datetime]
) -> None:
    """Every budget is spent through the store's pace of it: SQLite keeps the limiter, its
    calls recorded in the journal (a restart keeps the pace); PostgreSQL gives one pace in
    the database that every instance spends (the adapters get it in their limiter's place)."""
    chosen: dict[int, Pace] = {}
    for limiter in paces(router, axiom):
        if isinstance(limiter, RollingLimiter):
            chosen[id(limiter)] = store.pace(limiter, now)

    def swap(limiter: Pace | None) -> Pace | None:
        return None if limiter is None else chosen.get(id(limiter), limiter)

    axiom.limiter = swap(axiom.limiter) or axiom.limiter
    for identity in router.identities.values():
        http = identity.sheets.http
        http.read_limiter, http.write_limiter = swap(http.read_limiter), swap(http.write_limiter)
        shared = http.project_limiters
        http.project_limiters = {kind: chosen.get(id(pace), pace) for kind, pace in shared.items()}


def build_clients(
    config: Config,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[SheetRouter, AxiomClient]:
    """The Google and axiom adapters for a config (raises ConfigError for bad credentials).

    `sleep` and `monotonic` go together: a fake sleep must advance the fake clock.
    """
    sheets = build_router(config, sleep=sleep, monotonic=monotonic)
    if config.axiom_key is None:  # a config loaded with secrets=False (check, status)
        raise ConfigError(f"{config.source}: the axiom key was not loaded (secrets=False)")
    key = config.axiom_key.reveal()
    settings = config.axiom
    budget = "axiom-" + fingerprint(key)
    limiter = limiter_for(budget, settings.calls_per_minute, clock=monotonic, sleep=sleep)
    axiom = AxiomClient(
        settings.base_url,
        key,
        limiter=limiter,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        retries=settings.max_retries,
        sleep=sleep,
        gate=gate_for(budget, clock=monotonic, wall=now),
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
    now: Callable[[], datetime] | None = None,
    journal: Store | None = None,
    pace_clock: Callable[[], float] | None = None,
) -> Runtime:
    """Open the store (SQLite: taking its lock), take this instance's spreadsheets (each
    recovered from a previous holder's stop), build the engine. `journal`: a store open
    already (a reload keeps the daemon's). `now`: default `wall_clock()` (UTC; a test
    may skew it). `pace_clock`: Unix seconds for PostgreSQL's shared paces (None: the
    database's clock; a test's fake clock, whose `sleep` must advance it)."""
    now = now or wall_clock()
    sheets, axiom = build_clients(config, sleep=sleep, monotonic=monotonic, now=now)
    if journal is None:
        journal = open_store(config, now=now, sleep=sleep, pace_clock=pace_clock)
        try:
            take_units(journal, now())
        except BaseException:
            journal.close()
            raise
    share_paces(journal, sheets, axiom, now)
    journal.keep_gate(axiom.gate, axiom.limiter.name)
    engine = Engine(sheets, axiom, journal, now=now, timer=monotonic, sleep=sleep)
    if config.state.postgres:  # a former holder's claim write may be on its way this long
        engine.claims.grace = DEFAULT_CONNECT_TIMEOUT + config.google.timeout_seconds
    return Runtime(config, journal, sheets, axiom, engine)


def take_units(store: Store, now: datetime) -> int:
    """Recover what a previous stop left `sending` (SQLite: every watch's, as the journal
    always did), then take this instance's spreadsheets (PostgreSQL: up to its fair share,
    each recovered at takeover); log the rows marked unknown. Returns how many."""
    recovered = store.recover(now)
    events = store.acquire()
    recovered += sum(e.recovered for e in events if e.change is Change.ACQUIRED)
    if recovered:
        log.warning(
            "%d row(s) were being sent when sheetsync last stopped; marked unknown "
            "(check axiom's run history, then type retry to resend)",
            recovered,
        )
    return recovered
