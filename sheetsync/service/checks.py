"""`sheetsync check`: look at everything a cycle depends on, trigger nothing, write nothing."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sheetsync.adapters.axiom.client import AxiomClient
from sheetsync.adapters.google.identities import SheetRouter
from sheetsync.adapters.google.sheet import GoogleSheets
from sheetsync.adapters.store.journal import Journal
from sheetsync.adapters.store.opening import inspect_state, open_store
from sheetsync.adapters.store.protocol import Store
from sheetsync.adapters.store.state_dir import shared_mode, unwritable
from sheetsync.config import Config, Watch
from sheetsync.core.first_cycle import split_existing
from sheetsync.core.headers import header_warnings
from sheetsync.core.layout import map_header
from sheetsync.core.ownership import owners_of
from sheetsync.core.plan import Candidate, cell, find_candidates
from sheetsync.cycle.allowance import runtime_left
from sheetsync.errors import AxiomError, JournalError, SheetsyncError
from sheetsync.service.schedules import teams
from sheetsync.service.wiring import build_clients

Echo = Callable[[str], None]


def near_miss(name: str, known: Iterable[str]) -> str | None:
    """The known automation a mistyped name most likely meant (case, spaces, spelling)."""
    known = list(known)

    def norm(text: str) -> str:
        return " ".join(text.split()).casefold()

    for candidate in known:
        if norm(candidate) == norm(name):
            return candidate
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    if close:
        return close[0]
    by_norm = {norm(k): k for k in known}
    close = difflib.get_close_matches(norm(name), list(by_norm), n=1, cutoff=0.75)
    return by_norm[close[0]] if close else None


def describe_miss(name: str, known: Iterable[str]) -> str:
    """`"x" is not an automation in this axiom account; did you mean "X"?`."""
    hint = near_miss(name, known)
    text = f"automation {name!r} does not exist in this axiom account (names are exact)"
    return text + (f"; did you mean {hint!r}?" if hint else "")


def run_checks(config: Config, echo: Echo) -> int:
    """Print one line per check; return the number of problems found."""
    problems = 0

    def bad(text: str) -> None:
        nonlocal problems
        problems += 1
        echo(f"✗ {text}")

    echo(f"✓ config {config.source} ({len(config.watches)} watch(es))")
    router, axiom = build_clients(config)  # a bad key file is a config error (exit 2)
    for identity in router.identities.values():
        echo(f"✓ service account {identity.label}")
    _budgets(config, router, echo)
    names = _automation_names(axiom, echo, bad)
    _shared_tracking(config, echo)
    journal = _database(config, echo, bad) if config.state.postgres else _journal(config, echo, bad)
    try:
        for watch in config.watches:
            sheets = router.identity(watch.spreadsheet_id).sheets
            _check_watch(watch, sheets, names, journal, echo, bad)
    finally:
        if journal is not None:
            journal.close()
    echo("all checks passed" if not problems else f"{problems} problem(s) found")
    return problems


def _budgets(config: Config, router: SheetRouter, echo: Echo) -> None:
    """The read arithmetic the daemon logs: what the schedules need of each identity."""
    max_idle = config.google.max_idle_seconds if config.google.drive else None
    for team in teams(config.watches, router, datetime.now(UTC)):
        budget = team.budget(max_idle)
        echo(f"{'!' if budget.over else '✓'} {budget.describe()}")


def _automation_names(axiom: AxiomClient, echo: Echo, bad: Echo) -> list[str] | None:
    try:
        names = axiom.list_automations()
    except AxiomError as exc:
        bad(f"axiom: {exc}")
        return None
    echo(f"✓ axiom key accepted; {len(names)} automation(s) in the account")
    try:
        left, detail = runtime_left(axiom.remaining_runtime())
        if left:
            echo(f"  remaining runtime: {detail}")
        else:
            echo(f"! remaining runtime: {detail}; rows will wait until the allowance renews")
    except AxiomError as exc:
        echo(f"  remaining runtime unavailable: {exc}")
    return names


def _shared_tracking(config: Config, echo: Echo) -> None:
    """Tracking is exact only when no other watch starts runs of the same automation."""
    by_name: dict[str, list[str]] = {}
    for watch in config.watches:
        if watch.automation:
            by_name.setdefault(watch.automation, []).append(watch.name)
    for watch in config.watches:
        others = [n for n in by_name.get(watch.automation or "", []) if n != watch.name]
        if watch.track_runs and others:
            echo(
                f"! watch {watch.name}: watch(es) {', '.join(others)} also start "
                f"{watch.automation!r}; /run-data reports only the latest run of a name, so "
                "overlapping runs show `untracked`"
            )


def _journal(config: Config, echo: Echo, bad: Echo) -> Journal | None:
    """The journal as `run` would open it, read-only and without its lock (a daemon may run)."""
    path = config.state_path
    problem = unwritable(path)
    if problem is not None:
        bad(f"journal {path}: {problem}; run would stop (exit 2)")
        return None
    if not path.exists():
        echo(f"✓ journal {path}: none yet; the first run creates it")
        return None
    try:
        journal = Journal(path, readonly=True)
    except JournalError as exc:
        bad(f"journal {exc}")
        return None
    mode = shared_mode(path)
    if mode is not None:
        echo(f"! journal {path} is readable by others (mode {mode:04o}); run: chmod 600 {path}")
    echo(f"✓ journal {path}")
    return journal


def _database(config: Config, echo: Echo, bad: Echo) -> Store | None:
    """`[state] url`: reachable, its schema, its replication and lease table, as `run`
    would find them; then opened read-only (no lease taken: a fleet may be running)."""
    try:
        found = inspect_state(config)
    except JournalError as exc:
        bad(f"state {exc}")
        return None
    for warning in found.warnings:
        echo(f"! state {warning}")
    if found.version == 0:
        echo(f"✓ state {found.where}: empty; the first run creates the schema")
        return None
    if found.version < found.latest:
        echo(
            f"! state {found.where}: schema version {found.version}; `sheetsync run` migrates "
            f"it to version {found.latest} at start (the row counts below do not read it)"
        )
        return None
    try:
        store = open_store(config, readonly=True)
    except JournalError as exc:
        bad(f"state {exc}")
        return None
    echo(f"✓ state {found.where}: schema version {found.version}")
    return store


def _check_watch(
    watch: Watch,
    sheets: GoogleSheets,
    names: list[str] | None,
    journal: Store | Journal | None,
    echo: Echo,
    bad: Echo,
) -> None:
    label = f"watch {watch.name} ({watch.worksheet!r})"
    try:
        sheets.grid(watch.spreadsheet_id, watch.worksheet)
        table = sheets.read_tabs(watch.spreadsheet_id, [watch.worksheet])[watch.worksheet]
        if not table or not any(c.strip() for c in table[0]):
            bad(f"{label}: the header row (row 1) is empty")
            return
        layout = map_header(table[0], watch, max(map(len, table)))
    except SheetsyncError as exc:
        bad(f"{label}: {exc}")
        return
    for warning in header_warnings(table, layout):
        echo(f"! {label}: {warning.text}")
    if layout.added:
        echo(f"  {label}: will add result column(s) {list(layout.added)}")
    entries = journal.entries(watch.name, datetime.now(UTC)) if journal else {}
    candidates = find_candidates(table, layout, watch, entries, owners_of(table, layout, entries))
    skipped: list[Candidate] = []
    if watch.start_from == "now" and not (journal and journal.has_started(watch.name)):
        candidates, skipped = split_existing(candidates)  # as the first cycle does
    skips = f' and mark {len(skipped)} skipped (start_from = "now")' if skipped else ""
    echo(
        f"✓ {label}: {len(table) - 1} rows, inputs {layout.input_header()}; "
        f"the next cycle would trigger {len(candidates)} row(s){skips}"
    )
    if names is None:
        return
    wanted = {watch.automation} if watch.automation else set()
    if layout.automation is not None:
        column = layout.automation
        wanted |= {cell(row, column) for row in table[1:] if cell(row, column).strip()}
    for name in sorted(wanted):
        if name not in names:
            bad(f"{label}: {describe_miss(name, names)}")
