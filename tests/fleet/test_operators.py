"""What operators run against a PostgreSQL state: `status`, `check`, `migrate-state`.

Through the command line (click's runner), on the emulators and a fresh database per
test. Every expected failure is one line without a traceback, and the database password
(from a password_file) never appears in what a command prints.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from sheetsync.adapters import pacing
from sheetsync.adapters.axiom import outage
from sheetsync.adapters.store.journal import Journal
from sheetsync.adapters.store.opening import open_store
from sheetsync.adapters.store.pg_schema import LATEST
from sheetsync.service.cli import main
from sheetsync.service.daemon import Daemon
from sheetsync.testing import World

HEADER = ["url", "product"]
ROWS = [[f"https://shop.example/{i}", f"P{i}"] for i in range(1, 4)]
PASSWORD = "pg-s3cret-Wd9"
"""What the password file holds (the test server trusts every local user: unused)."""


def invoke(world: World, *args: str) -> tuple[int, str]:
    """Run `sheetsync ARGS`; (exit code, stdout and stderr)."""
    env = {**world.environ, "COLUMNS": "200"}
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert PASSWORD not in result.output
    return result.exit_code, result.output


def fleet_config(world: World, url: str, **state: Any) -> str:
    """A config on PostgreSQL at `url` whose password comes from a password_file."""
    secret = world.folder / "pg-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    world.config({"mode": "row"}, state={"url": url, "password_file": "pg-password", **state})
    return str(world.folder / "sheetsync.toml")


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def kill_mid_post(world: World) -> None:
    """A cycle whose trigger reached axiom but whose answer never came back: the process
    is killed there (the journal keeps the row `sending`)."""
    hold = threading.Event()
    fault = world.axiom.add_fault(path="/trigger", hold=hold, phase="after", count=1)
    thread = threading.Thread(target=world.once)
    thread.start()
    assert fault.arrived.wait(20), "the trigger never reached axiom"
    world.crash()
    hold.set()
    thread.join(20)
    world.axiom.clear_faults()


def one_error_line(output: str) -> str:
    """The output is exactly one line (no traceback); return it."""
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_status_shows_instances_and_holders_and_takes_no_lease(world: World, pg_url: str) -> None:
    """An instance serving the spreadsheet is listed alive with its holder and epoch, in
    the table and in --json; `status` itself takes nothing; a stopped one is gone."""
    world.sheet([HEADER, *ROWS])
    config = fleet_config(world, pg_url)
    assert [r.triggered for r in world.once()] == [3]  # the runtime stays open: it serves
    before = query(pg_url, "SELECT unit, holder, epoch FROM leases")
    code, output = invoke(world, "status", "-c", config, "--json")
    assert code == 0, output
    document = json.loads(output)
    assert document["journal"] == pg_url
    (instance,) = document["instances"]
    assert instance["alive"] and instance["pid"] > 0 and instance["started_at"]
    (sheet,) = document["spreadsheets"]
    assert (sheet["spreadsheet"], sheet["watches"], sheet["state"]) == (
        world.spreadsheet_id,
        ["w0"],
        "held",
    )
    assert (sheet["holder"], sheet["epoch"]) == (instance["holder"], before[0][2])
    assert document["watches"][0]["counts"] == {"triggered": 3}
    code, output = invoke(world, "status", "-c", config)
    assert code == 0, output
    assert "1 instance(s) alive of 1 known; 1 of 1 spreadsheet(s) held" in output
    assert instance["holder"][:8] in output and "alive" in output
    assert f"pid {instance['pid']})" in output and "s left" in output
    assert query(pg_url, "SELECT unit, holder, epoch FROM leases") == before

    world.close_runtime()  # releases the spreadsheet, removes the heartbeat
    code, output = invoke(world, "status", "-c", config, "--json")
    document = json.loads(output)
    assert document["instances"] == []
    assert document["spreadsheets"][0]["state"] == "free"
    code, output = invoke(world, "status", "-c", config)
    assert "0 instance(s) alive of 0 known; 0 of 1 spreadsheet(s) held" in output
    assert "nobody (free)" in output
    assert query(pg_url, "SELECT holder FROM leases") == [("",)]


def test_status_shows_an_expired_instance(world: World, pg_url: str) -> None:
    """A killed instance (its heartbeat and lease run out) is shown expired, as is its
    spreadsheet until a peer takes it."""
    world.sheet([HEADER, *ROWS[:1]])
    config = fleet_config(world, pg_url)
    world.once()
    query(pg_url, "UPDATE instances SET expires_at = now() - interval '1 second'")
    query(pg_url, "UPDATE leases SET expires_at = now() - interval '1 second'")
    document = json.loads(invoke(world, "status", "-c", config, "--json")[1])
    assert [i["alive"] for i in document["instances"]] == [False]
    assert document["spreadsheets"][0]["state"] == "expired"
    code, output = invoke(world, "status", "-c", config)
    assert code == 0 and "expired" in output
    assert "0 instance(s) alive of 1 known; 0 of 1 spreadsheet(s) held" in output


def test_an_unreachable_database_is_one_line_without_the_password(world: World) -> None:
    """status (exit 2), check (exit 1, its other checks still run) and migrate-state name
    the URL without a password, in one line each."""
    world.sheet([HEADER, *ROWS[:1]])
    url = "postgresql://sheetsync@127.0.0.1:1/nowhere"
    config = fleet_config(world, url)
    code, output = invoke(world, "status", "-c", config)
    line = one_error_line(output)
    assert code == 2 and "postgresql://sheetsync@127.0.0.1:1/nowhere" in line
    code, output = invoke(world, "check", "-c", config)
    assert code == 1, output
    (line,) = [x for x in output.splitlines() if x.startswith("✗")]
    assert line.startswith("✗ state postgresql://sheetsync@127.0.0.1:1/nowhere: ")
    assert "1 problem(s) found" in output and "✓ watch w0" in output
    Journal(world.folder / "sheetsync.db").close()  # a journal to migrate
    code, output = invoke(world, "migrate-state", "-c", config)
    assert code == 1 and "127.0.0.1:1/nowhere" in one_error_line(output)


def test_check_reports_the_schema_and_refuses_unsafe_databases(world: World, pg_url: str) -> None:
    """Current schema: a ✓ line; an older one: a notice that `run` migrates it (exit 0);
    a newer one or an UNLOGGED lease table: one ✗ line, exit 1."""
    world.sheet([HEADER, *ROWS])
    config = fleet_config(world, pg_url)
    code, output = invoke(world, "check", "-c", config)
    assert code == 0, output
    assert f"✓ state {pg_url}: schema version {LATEST}" in output
    assert "the next cycle would trigger 3 row(s)" in output

    query(pg_url, f"DELETE FROM schema_version WHERE version = {LATEST}")
    code, output = invoke(world, "check", "-c", config)
    assert code == 0, output
    assert f"schema version {LATEST - 1}; `sheetsync run` migrates it" in output

    query(pg_url, f"INSERT INTO schema_version (version) VALUES ({LATEST}), ({LATEST + 1})")
    code, output = invoke(world, "check", "-c", config)
    (line,) = [x for x in output.splitlines() if x.startswith("✗")]
    assert code == 1 and "newer than this sheetsync knows" in line and pg_url in line

    query(pg_url, f"DELETE FROM schema_version WHERE version = {LATEST + 1}")
    query(pg_url, "ALTER TABLE leases SET UNLOGGED")
    code, output = invoke(world, "check", "-c", config)
    (line,) = [x for x in output.splitlines() if x.startswith("✗")]
    assert code == 1 and "UNLOGGED" in line
    code, output = invoke(world, "status", "-c", config)
    assert code == 2 and "UNLOGGED" in one_error_line(output)


def test_asynchronous_standbys_warn_or_fail_with_require_sync_replication(
    world: World, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the primary says of its standbys (faked: the test server has none) is one `!`
    line of check and status; with `require_sync_replication` a ✗ line, exit 1."""
    from sheetsync.adapters.store import pg_checks

    problem = "2 standby(s) replicate asynchronously: a failover can lose a commit"
    monkeypatch.setattr(pg_checks, "replication_problem", lambda found: problem)
    world.sheet([HEADER, *ROWS[:1]])
    config = fleet_config(world, pg_url)
    code, output = invoke(world, "check", "-c", config)
    assert code == 0, output
    assert [x for x in output.splitlines() if problem in x] == [f"! state {pg_url}: {problem}"]
    code, output = invoke(world, "status", "-c", config)
    assert code == 0 and [x for x in output.splitlines() if problem in x] == [
        f"! {pg_url}: {problem}"
    ]
    assert json.loads(invoke(world, "status", "-c", config, "--json")[1])["warnings"] == [
        f"{pg_url}: {problem}"
    ]

    config = fleet_config(world, pg_url, require_sync_replication=True)
    code, output = invoke(world, "check", "-c", config)
    (line,) = [x for x in output.splitlines() if x.startswith("✗")]
    assert code == 1 and line == f"✗ state {pg_url}: {problem} (require_sync_replication)"


def test_check_and_status_on_an_empty_database_say_the_first_run_creates_it(
    world: World, pg_url: str
) -> None:
    """A database sheetsync never used: nothing to refuse, nothing created by `check` or
    `status` (which says so, as for a journal file not made yet)."""
    query(pg_url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    world.sheet([HEADER, *ROWS[:1]])
    config = fleet_config(world, pg_url, require_sync_replication=True)
    code, output = invoke(world, "check", "-c", config)
    assert code == 0, output
    assert "empty; the first run creates the schema" in output
    code, output = invoke(world, "status", "-c", config)
    assert (code, output) == (0, f"no journal yet at {pg_url}: sheetsync has not run\n")
    document = json.loads(invoke(world, "status", "-c", config, "--json")[1])
    assert document == {"journal": pg_url, "watches": []}
    assert query(pg_url, "SELECT to_regclass('schema_version')") == [(None,)]


@pytest.mark.sqlite_only("moves a SQLite journal file to PostgreSQL: its source is that file")
def test_migrate_state_moves_the_journal_and_nothing_is_sent_again(
    world: World, pg_url: str
) -> None:
    """migrate-state copies the SQLite journal; `once` on PostgreSQL then sends nothing
    handled (the row killed mid-POST becomes unknown); a second migration is refused."""
    world.sheet([HEADER, *ROWS])
    world.config({"mode": "row"})
    world.once()
    world.google.insert_rows(world.spreadsheet_id, world.tab, 5, values=[["https://k", "K"]])
    kill_mid_post(world)
    world.close_runtime()
    assert len(world.axiom.triggers) == 4
    journal = world.folder / "sheetsync.db"
    moved = journal.rename(world.folder / "old.db")
    config = fleet_config(world, pg_url)

    code, output = invoke(world, "migrate-state", "-c", config, "--from", str(moved))
    assert code == 0, output
    assert f"copied {moved} into {pg_url}: 4 rows" in output
    pacing.clear_limiters()  # `once` is a new process: its own paces and gates
    outage.clear_gates()
    code, output = invoke(world, "once", "-c", config)
    assert code == 0, output
    assert "1 row(s) were being sent" in output  # the one killed mid-POST
    assert len(world.axiom.triggers) == 4
    assert Counter(world.column("Status")) == Counter({"triggered": 3, "unknown": 1})

    code, output = invoke(world, "migrate-state", "-c", config, "--from", str(moved))
    assert code == 1 and "already holds sheetsync state" in one_error_line(output)


@pytest.mark.sqlite_only(
    "refusals to move a SQLite journal file (missing, locked by a running sheetsync)"
)
def test_migrate_state_refusals_are_one_line(world: World, pg_url: str, tmp_path: Path) -> None:
    """A missing journal, a running sheetsync (its lock), a served database, a SQLite config."""
    world.sheet([HEADER, *ROWS[:1]])
    config = fleet_config(world, pg_url)
    code, output = invoke(world, "migrate-state", "-c", config, "--from", str(tmp_path / "no.db"))
    assert code == 1 and "no journal there" in one_error_line(output)
    assert not (tmp_path / "no.db").exists()

    running = Journal(world.folder / "sheetsync.db")  # as a running sheetsync holds it
    try:
        code, output = invoke(world, "migrate-state", "-c", config)
        assert code == 1 and "a running sheetsync holds this journal" in one_error_line(output)
    finally:
        running.close()

    serving = open_store(world.load())  # an instance serves the (empty) database
    try:
        assert len(serving.acquire()) == 1
        code, output = invoke(world, "migrate-state", "-c", config)
        assert code == 1 and "is serving this database" in one_error_line(output)
    finally:
        serving.close()

    world.config({"mode": "row"})
    code, output = invoke(world, "migrate-state", "-c", str(world.folder / "sheetsync.toml"))
    assert code == 2 and "[state] url is not set" in one_error_line(output)


def scrape(port: int) -> dict[str, float]:
    """The unlabelled samples of /metrics, by name."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    families = text_string_to_metric_families(text)
    return {s.name: s.value for f in families for s in f.samples if not s.labels}


@pytest.mark.sqlite_only("sets a PostgreSQL daemon beside one on the SQLite file (its second half)")
def test_status_line_and_metrics_show_the_spreadsheets_held(
    world: World, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's STATUS= says `serving 1 of 1 spreadsheet` and the gauges agree; once
    the lease is lost both say 0, and the watch leaves the rows, last-success and /healthz
    of this instance (its new holder reports it); on SQLite nothing of this appears."""
    world.sheet([HEADER, *ROWS[:1]])
    fleet_config(world, pg_url)
    world.config(
        {"mode": "row"},
        state={"url": pg_url, "password_file": "pg-password"},
        metrics={"listen": "127.0.0.1:0"},
    )
    daemon = Daemon(world.folder / "sheetsync.toml", world.environ)
    try:
        assert daemon.metrics is not None
        assert "1 watch; serving 1 of 1 spreadsheet; " in daemon._status_text()
        held = scrape(daemon.metrics.port)
        later = daemon.metrics.started + 3600  # an hour without a cycle
        monkeypatch.setattr(daemon.metrics, "clock", lambda: later)
        assert not daemon.metrics.health()[0]  # served here and never cycled: late
        lost = daemon.journal.release()
        monkeypatch.setattr(daemon.journal, "events", lambda: lost)  # as the lease thread
        daemon.beat()
        assert "1 watch; serving 0 of 1 spreadsheet; " in daemon._status_text()
        released = scrape(daemon.metrics.port)
        text = requests.get(f"http://127.0.0.1:{daemon.metrics.port}/metrics", timeout=5).text
        assert daemon.metrics.health() == (True, [])  # a peer serves it: not late here
    finally:
        daemon.metrics.close() if daemon.metrics else None
        daemon.runtime.close()
        daemon.notifier.close()
    assert (held["sheetsync_spreadsheets_held"], held["sheetsync_spreadsheets_configured"]) == (
        1,
        1,
    )
    assert released["sheetsync_spreadsheets_held"] == 0
    assert 'watch="w0"' not in text  # neither its rows nor its last success

    world.config({"mode": "row"}, metrics={"listen": "127.0.0.1:0"})  # SQLite
    daemon = Daemon(world.folder / "sheetsync.toml", world.environ)
    try:
        assert daemon.metrics is not None
        assert "serving" not in daemon._status_text()
        assert "sheetsync_spreadsheets_held" not in scrape(daemon.metrics.port)
    finally:
        daemon.metrics.close() if daemon.metrics else None
        daemon.runtime.close()
        daemon.notifier.close()
