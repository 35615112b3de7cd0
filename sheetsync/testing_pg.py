"""Which store the test harness opens: `SHEETSYNC_TEST_STORE` = `sqlite` (the default) or
`postgres`, and where PostgreSQL test databases come from.

Under `postgres`, every `World` (and every journal a test opens through `journal_for`)
gets a fresh database of its own, cloned from a migrated template, on the server at
`SHEETSYNC_TEST_PG` (default the project's 127.0.0.1:5432). The test suite's conftest
makes and drops the databases (`use_databases`); this module only hands them out, so a
`World` built outside pytest (a benchmark) stays on SQLite unless told otherwise.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sheetsync.service.wiring import Runtime

STORE_ENV = "SHEETSYNC_TEST_STORE"
STORES = ("sqlite", "postgres")
ADMIN_URL = os.environ.get("SHEETSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
"""The test server's maintenance database (trust auth); test databases are its siblings."""

PG_LEASES = {"lease_seconds": 4.0, "renew_seconds": 1.0, "acquire_seconds": 0.25}
"""A world's `[state]` leases on PostgreSQL: a killed daemon's spreadsheets are free again
in seconds (the default 30 s would make every kill test wait that long)."""

_fresh: Callable[[], str] | None = None


def test_store(environ: Mapping[str, str] | None = None) -> str:
    """`sqlite` or `postgres`, from `SHEETSYNC_TEST_STORE` (anything else is refused)."""
    value = (os.environ if environ is None else environ).get(STORE_ENV, "sqlite") or "sqlite"
    if value not in STORES:
        raise ValueError(f"{STORE_ENV}={value!r}: expected one of {', '.join(STORES)}")
    return value


def on_postgres() -> bool:
    """Whether the harness runs the journal on PostgreSQL."""
    return test_store() == "postgres"


def db_url(name: str) -> str:
    """The URL of database `name` on the test server."""
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def use_databases(fresh: Callable[[], str] | None) -> None:
    """Install (None: remove) what makes a fresh migrated database and returns its URL;
    the conftest does, for one test at a time, and drops what it made afterwards."""
    global _fresh  # noqa: PLW0603 - one test at a time in a process
    _fresh = fresh


def fresh_database() -> str:
    """A fresh migrated database for the running test (its URL, without a password)."""
    if _fresh is None:
        raise RuntimeError(
            f"{STORE_ENV}=postgres: no database source; the tests' conftest installs one"
        )
    return _fresh()


def hold_every_spreadsheet(runtime: Runtime) -> None:
    """A world's runtime on PostgreSQL: renew the leases in the background (as `sheetsync
    once` does) and wait until every spreadsheet is held. A daemon the test killed keeps
    its leases until they expire (FLEET.md: a new process cannot know the old one is
    dead); `PG_LEASES` makes that short. A live peer's are left to it after that wait."""
    runtime.journal.start()
    wanted = {w.spreadsheet_id for w in runtime.config.watches}
    pause, deadline = threading.Event(), time.monotonic() + PG_LEASES["lease_seconds"] + 2
    while not wanted <= set(runtime.journal.held()) and time.monotonic() < deadline:
        pause.wait(0.05)


def past_grace(runtime: Runtime, advance: Callable[[float], None]) -> None:
    """Let the claim grace of this start run out, from now, before (or after) its first
    cycle. PostgreSQL: a new process cannot know its predecessor is dead, so claims not
    found on the sheet are kept `grace` seconds after its first cycle of a spreadsheet
    (FLEET.md, zombie claim write); a test of what follows moves its clock past that
    instead of disabling it. SQLite has no grace: nothing moves."""
    claims = runtime.engine.claims
    if claims.grace:
        for unit, epoch in runtime.journal.held().items():
            claims.serving(unit, epoch)  # the grace starts now, as at a first cycle
        advance(claims.grace + 1)
