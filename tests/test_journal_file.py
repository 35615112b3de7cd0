"""The journal's file: damaged, lost, newer or shared state is refused by name, never replaced.

Every case goes through the command a person runs (`once`, `run`, `check`, `status`)
against the emulators, and then looks at the file itself and at what axiom received.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from sheetsync.adapters.store.journal import Journal
from sheetsync.adapters.store.journal_file import SCHEMA_VERSION
from sheetsync.adapters.store.lockfile import take_lock
from sheetsync.adapters.store.sqlite import SqliteStore
from sheetsync.errors import JournalError
from sheetsync.service.cli import main
from sheetsync.testing import World

pytestmark = pytest.mark.sqlite_only(
    "the SQLite journal file itself: damage, WAL, modes, its lock and schema versions"
    " (PostgreSQL's state: tests/fleet/test_store_state.py, test_store_setup.py)"
)

HEADER = ["url", "product"]
ROWS = [["https://shop.example/1", "P1"], ["https://shop.example/2", "P2"]]
DATA = Path(__file__).parent / "data"
WAIT = 60.0


def invoke(world: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=world.environ, catch_exceptions=False)
    return result.exit_code, result.output


def run_daemon(world: World, config: Path) -> subprocess.CompletedProcess[str]:
    """`sheetsync run` as systemd would start it; returns once it exited."""
    env = {**os.environ, **world.environ}
    env.pop("NOTIFY_SOCKET", None)
    argv = [sys.executable, "-m", "sheetsync", "run", "-c", str(config)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=WAIT, check=False)


def handled(world: World) -> Path:
    """A sheet whose two rows sheetsync triggered, and its config; no process holds the journal."""
    world.sheet([HEADER, *ROWS])
    config = world.config()
    code, output = invoke(world, "once", "-c", str(config))
    assert code == 0, output
    assert world.column("Status") == ["triggered", "triggered"]
    return config


def damage(path: Path, how: str) -> None:
    """Damage a journal the ways disks, copies and people do."""
    if how == "empty":  # truncated to nothing: SQLite itself would take it for a new database
        path.write_bytes(b"")
    elif how == "truncated":  # cut at a page boundary: the header still reads fine
        size = path.stat().st_size
        os.truncate(path, (size // 2) // 4096 * 4096)
    elif how == "garbage":
        path.write_bytes(b"PK\x03\x04 not a database at all " * 200)
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage"])
def test_a_damaged_journal_stops_once_and_run_naming_the_file(world: World, how: str) -> None:
    """A truncated or garbage journal: exit 2 and one line naming it; the file stays as it is."""
    config = handled(world)
    path = world.folder / "sheetsync.db"
    damage(path, how)
    before = path.read_bytes()
    code, output = invoke(world, "once", "-c", str(config))
    assert code == 2, output
    assert str(path) in output and len(output.strip().splitlines()) == 1, output
    daemon = run_daemon(world, config)
    assert daemon.returncode == 2, daemon.stderr
    assert str(path) in daemon.stderr and len(daemon.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before
    assert len(world.axiom.triggers) == 2
    assert world.column("Status") == ["triggered", "triggered"]


def test_a_journal_deleted_without_its_write_ahead_log_is_refused(world: World) -> None:
    """A crash's WAL left beside a deleted journal would be replayed into a new one: refuse."""
    world.sheet([HEADER, *ROWS])
    config = world.config()
    world.once()  # the runtime stays open, as a daemon killed now would leave it
    path = world.folder / "sheetsync.db"
    wal = path.with_name("sheetsync.db-wal")
    assert wal.stat().st_size > 0
    kept = world.folder / "kept-wal"
    shutil.copy(wal, kept)
    world.close_runtime()
    path.unlink()
    shutil.copy(kept, wal)
    code, output = invoke(world, "once", "-c", str(config))
    assert code == 2, output
    assert str(wal) in output, output
    assert not path.exists()
    assert len(world.axiom.triggers) == 2


def test_a_new_journal_is_marked_as_new(world: World) -> None:
    """The open that creates a journal says so and records when; later opens do not."""
    world.sheet([HEADER, *ROWS[:1]])
    world.config()
    journal = world.runtime().journal
    assert journal.created
    created_at = journal.created_at
    assert created_at == "2026-01-05T09:00:00Z"  # the world's clock
    world.close_runtime()
    world.clock.advance(3600)
    again = world.runtime().journal
    assert not again.created and again.created_at == created_at


def test_a_new_journal_records_the_installed_sheetsync_that_made_it(world: World) -> None:
    """`created_by` names the installed distribution's version (the test venv installs it
    editable, so its metadata exists): never "(not installed)" under the renamed package."""
    world.sheet([HEADER])
    world.config()
    world.once()
    journal = world.runtime().journal
    assert isinstance(journal, SqliteStore)
    created_by = journal._query("SELECT value FROM meta WHERE key = 'created_by'")
    assert created_by == [(f"sheetsync {metadata.version('sheetsync-axiom')}",)]


def load_dump(path: Path, name: str) -> None:
    db = sqlite3.connect(path)
    db.executescript((DATA / name).read_text(encoding="utf-8"))
    db.close()


def user_version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("PRAGMA user_version").fetchone()[0])
    finally:
        db.close()


def test_a_journal_written_before_schema_versions_opens_and_is_migrated(tmp_path: Path) -> None:
    """A journal from dbbb262 (no version) gets one, keeps every row, and recovers as before."""
    path = tmp_path / "sheetsync.db"
    load_dump(path, "journal_v0.sql")
    before = sqlite3.connect(path).execute("SELECT * FROM rows ORDER BY watch, row_id").fetchall()
    journal = Journal(path)
    try:
        assert user_version(path) == SCHEMA_VERSION
        assert not journal.created and journal.created_at == ""
        assert journal.counts("w0") == {
            "claimed": 1,
            "error": 1,
            "queued": 1,
            "sending": 1,
            "triggered": 1,
            "unknown": 1,
            "waiting": 1,
        }
        assert journal._query("SELECT * FROM rows ORDER BY watch, row_id") == before
        assert journal.recover(datetime(2026, 1, 6, tzinfo=UTC)) == 1  # the `sending` row
    finally:
        journal.close()
    Journal(path).close()  # a second open finds nothing to migrate


def test_an_additive_schema_change_reaches_a_current_journal_without_a_version(
    tmp_path: Path,
) -> None:
    """Tables, indexes and columns of the current shape are added at every writable open."""
    path = tmp_path / "sheetsync.db"
    Journal(path).close()
    db = sqlite3.connect(path)
    db.executescript("DROP INDEX rows_sending; DROP TABLE plans;")
    db.close()
    journal = Journal(path)
    try:
        found = {name for (name,) in journal._query("SELECT name FROM sqlite_master")}
        assert {"rows_sending", "plans"} <= found
    finally:
        journal.close()
    assert user_version(path) == SCHEMA_VERSION


@pytest.mark.parametrize("newer", ["schema version", "row state"])
def test_a_journal_from_a_newer_sheetsync_is_refused_and_the_sheet_kept(
    world: World, newer: str
) -> None:
    """Unknown schema version or row state: exit 2 with one line; no status cell is blanked."""
    config = handled(world)
    path = world.folder / "sheetsync.db"
    db = sqlite3.connect(path)
    if newer == "schema version":
        db.execute("PRAGMA user_version = 1000")
    else:  # a state a later sheetsync added, shown with its own word
        first = world.column("sheetsync id")[0]
        db.execute("UPDATE rows SET state = 'parked' WHERE row_id = ?", (first,))
        world.google.set_cell(world.spreadsheet_id, world.tab, 2, 3, "parked")
    db.commit()
    db.close()
    sheet = world.values()
    code, output = invoke(world, "once", "-c", str(config))
    assert code == 2, output
    assert str(path) in output and "newer sheetsync" in output, output
    assert len(output.strip().splitlines()) == 1, output
    assert world.values() == sheet
    assert len(world.axiom.triggers) == 2


def test_sqlite_errors_reach_callers_as_journal_errors_naming_the_file(world: World) -> None:
    """A journal damaged under a running process: JournalError with the file, not sqlite3's."""
    world.sheet([HEADER, *ROWS[:1]])
    world.config()
    journal = world.runtime().journal
    assert isinstance(journal, SqliteStore)
    other = sqlite3.connect(journal.path)
    other.execute("DROP TABLE events")
    other.close()
    with pytest.raises(JournalError) as caught:
        journal.note("w0", "r1", "deleted", "row left the sheet", world.clock.now)
    assert str(journal.path) in str(caught.value)
    world.google.insert_rows(world.spreadsheet_id, world.tab, 2, values=[["https://c", "C"]])
    (report,) = world.once()
    assert report.error is not None and str(journal.path) in report.error


# -- permissions -----------------------------------------------------------------


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_state_files_are_private_whatever_the_umask(world: World) -> None:
    """Directory 0700, journal, WAL, shared memory and lock 0600, even under umask 000."""
    world.sheet([HEADER, *ROWS[:1]])
    world.config(state={"path": "state/sheetsync.db"})
    with umask(0):
        world.once()  # the runtime stays open: the WAL and shared-memory files exist
        state = world.folder / "state"
        files = ["sheetsync.db", "sheetsync.db-wal", "sheetsync.db-shm", "sheetsync.db.lock"]
        modes = {name: mode(state / name) for name in files}
        world.close_runtime()
    assert mode(state) == 0o700
    assert modes == dict.fromkeys(files, 0o600)


def test_a_journal_others_can_read_is_warned_about_by_name(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """An existing journal with mode 0644: one WARNING naming it, and the cycle runs."""
    world.sheet([HEADER, *ROWS[:1]])
    world.config()
    world.once()
    world.close_runtime()
    path = world.folder / "sheetsync.db"
    path.chmod(0o644)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        (report,) = world.once()
    assert report.error is None
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1 and str(path) in warned[0].getMessage(), caplog.text
    assert "readable by others" in warned[0].getMessage()


# -- check and status --------------------------------------------------------------


def read_only(folder: Path, argv: list[str]) -> list[str]:
    """`argv` run with `folder` mounted read-only (a private mount namespace)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) for a read-only mount")
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"'
    wrapped = ["unshare", "-rm", "sh", "-c", script, "sh", str(folder), *argv]
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", str(folder), "true"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount read-only here: {probe.stderr.decode()[:200]}")
    return wrapped


@pytest.mark.parametrize("how", ["empty", "garbage", "newer", "a directory", "read-only"])
def test_check_reports_a_journal_run_could_not_use(world: World, how: str) -> None:
    """check opens the journal as run would: a problem there is a problem (exit 1)."""
    config = handled(world)
    path = world.folder / "sheetsync.db"
    if how in {"empty", "garbage"}:
        damage(path, how)
    elif how == "newer":
        db = sqlite3.connect(path)
        db.execute("PRAGMA user_version = 1000")
        db.close()
    elif how == "a directory":
        path.unlink()
        path.mkdir()
    if how == "read-only":
        env = {**os.environ, **world.environ}
        argv = [sys.executable, "-m", "sheetsync", "check", "-c", str(config)]
        done = subprocess.run(
            read_only(world.folder, argv), env=env, capture_output=True, text=True, check=False
        )
        code, output = done.returncode, done.stdout + done.stderr
        assert "read-only" in output, output
    else:
        code, output = invoke(world, "check", "-c", str(config))
    assert code == 1, output
    assert "all checks passed" not in output
    assert any(line.startswith("✗") and str(path) in line for line in output.splitlines()), output


FIRST_SCHEMA = """
CREATE TABLE rows (
    watch TEXT NOT NULL, row_id TEXT NOT NULL, state TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0, fingerprint TEXT NOT NULL DEFAULT '',
    automation TEXT NOT NULL DEFAULT '', link TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '', triggered_at TEXT NOT NULL DEFAULT '',
    run_status TEXT NOT NULL DEFAULT '', waits INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL,
    PRIMARY KEY (watch, row_id)
);
"""
"""The journal of the first sheetsync: one table, none of the later columns."""


def test_check_reads_a_locked_journal_and_changes_nothing(world: World) -> None:
    """check beside a running daemon: no lock taken, the old schema not migrated, exit 0."""
    world.sheet([HEADER, *ROWS[:1]])
    config = world.config()
    path = world.folder / "sheetsync.db"
    db = sqlite3.connect(path)
    db.executescript(FIRST_SCHEMA)
    db.close()
    before = path.read_bytes()
    holder = take_lock(path)  # a running daemon's
    try:
        code, output = invoke(world, "check", "-c", str(config))
    finally:
        holder.close()
    assert code == 0, output
    assert "the next cycle would trigger 1 row(s)" in output
    assert path.read_bytes() == before
    Journal(path).close()  # a daemon starting now migrates it
    assert user_version(path) == SCHEMA_VERSION


def test_status_on_a_damaged_journal_prints_one_line_and_exits_2(world: World) -> None:
    """status: one line naming the journal, exit 2, no traceback."""
    config = handled(world)
    path = world.folder / "sheetsync.db"
    damage(path, "garbage")
    code, output = invoke(world, "status", "-c", str(config))
    assert code == 2, output
    assert str(path) in output and len(output.strip().splitlines()) == 1, output


def test_a_journal_from_before_the_landing_tables_gets_them(tmp_path: Path) -> None:
    """Review finding 6: a journal of the previous shape (schema version 1, no `strays` or
    `unanswered`, no index of rows by inputs) opens with them, writable and read-only."""
    path = tmp_path / "sheetsync.db"
    Journal(path).close()
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE strays; DROP TABLE unanswered; DROP INDEX rows_by_inputs;")
    db.close()
    assert user_version(path) == SCHEMA_VERSION == 1
    reader = Journal(path, readonly=True)  # `status`, `check`: nothing they read is missing
    try:
        assert reader.counts("w") == {}
    finally:
        reader.close()
    journal = Journal(path)
    try:
        found = {name for (name,) in journal._query("SELECT name FROM sqlite_master")}
        assert {"strays", "unanswered", "rows_by_inputs"} <= found
        assert journal.strays("w") == [] and journal.unanswered("w") == []
        assert not journal.needs_whole_read("w")
    finally:
        journal.close()
