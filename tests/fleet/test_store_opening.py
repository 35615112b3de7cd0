"""`open_store`: a config's `[state]` becomes the SQLite or the PostgreSQL store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sheetsync.adapters.store.opening import open_store
from sheetsync.adapters.store.protocol import Change
from sheetsync.adapters.store.units import plain_units
from sheetsync.config import Config, parse_config
from sheetsync.errors import JournalError, StoreError
from sheetsync.testing import World

if TYPE_CHECKING:
    from tests.fleet.conftest import Backend

UNITS = plain_units({"a": "S1", "b": "S1", "c": "S2"})
"""The `backend` fixture's units (conftest's `UNITS`)."""

WATCHES = [
    {"name": "a", "spreadsheet": "S1", "worksheet": "Q", "automation": "A"},
    {"name": "b", "spreadsheet": "S2", "worksheet": "Q", "automation": "A"},
]


def config(tmp_path: Path, **state: object) -> Config:
    raw = {
        "axiom": {"api_key_env": "K"},
        "google": {"service_account_file": "sa.json"},
        "state": state,
        "watch": WATCHES,
    }
    return parse_config(raw, tmp_path / "sheetsync.toml")


def test_a_path_opens_the_sqlite_journal_holding_every_spreadsheet(tmp_path: Path) -> None:
    """`path`: the lock file is every unit's lease; a reader holds none and takes no lock."""
    store = open_store(config(tmp_path, path="s.db"))
    try:
        assert store.where == str(tmp_path / "s.db")
        assert dict(store.held()) == {"S1": 1, "S2": 1}
        assert {e.unit for e in store.acquire() if e.change is Change.ACQUIRED} == {"S1", "S2"}
        reader = open_store(config(tmp_path, path="s.db"), readonly=True)
        assert dict(reader.held()) == {} and reader.acquire() == []
        reader.close()
        with pytest.raises(JournalError):  # a second writer: the lock is held
            open_store(config(tmp_path, path="s.db"))
    finally:
        store.close()


def test_a_url_opens_postgresql_holding_nothing_until_it_acquires(
    tmp_path: Path, pg_url: str
) -> None:
    """`url`: migrated and registered; units come with `acquire`; a reader takes none."""
    store = open_store(config(tmp_path, url=pg_url, lease_seconds=2, renew_seconds=0.67))
    try:
        assert store.where == pg_url
        assert dict(store.held()) == {}
        acquired = {e.unit for e in store.acquire() if e.change is Change.ACQUIRED}
        assert acquired == {"S1", "S2"} and store.trusted("S1")
        reader = open_store(config(tmp_path, url=pg_url), readonly=True)
        try:
            assert reader.acquire() == [] and {h.unit for h in reader.holdings()} == {"S1", "S2"}
        finally:
            reader.close()
    finally:
        store.close()


def test_an_unreachable_database_is_one_store_error(tmp_path: Path) -> None:
    """A database that does not answer is a `StoreError` naming it, with no password."""
    url = "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1"
    with pytest.raises(StoreError) as info:
        open_store(config(tmp_path, url=url))
    assert "127.0.0.1:9" in str(info.value)


def test_opening_sqlite_does_not_load_psycopg(tmp_path: Path) -> None:
    """A SQLite config through `open_store` never imports psycopg."""
    (tmp_path / "sheetsync.toml").write_text(
        '[axiom]\napi_key_env = "K"\n[google]\nservice_account_file = "sa.json"\n'
        '[[watch]]\nname = "a"\nspreadsheet = "S1"\nworksheet = "Q"\nautomation = "A"\n'
    )
    code = (
        "import sys; from sheetsync.config import load_config;"
        " from sheetsync.adapters.store.opening import open_store;"
        f" s = open_store(load_config({str(tmp_path / 'sheetsync.toml')!r}, secrets=False));"
        " s.close(); print(sorted(m for m in sys.modules if m.startswith('psycopg')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_reload_retargets_the_units_held(backend: Backend) -> None:
    """`retarget`: a unit the new config drops is released (a peer may take it), a new
    one is served (SQLite at once; PostgreSQL from its next round), a kept one carries
    the new watches' hash (peers compare theirs with it)."""
    store = backend.open()
    new = plain_units({"a": "S1", "d": "S3"})
    events = store.retarget(new)
    assert (Change.LOST, "S2") in [(e.change, e.unit) for e in events]
    events += store.acquire()
    assert [e.unit for e in events if e.change is Change.ACQUIRED] == ["S3"]
    assert sorted(store.held()) == ["S1", "S3"] and store.trusted("S3")
    assert not store.trusted("S2")
    if backend.kind == "postgres":
        found = backend.execute("SELECT unit, holder = '', config_hash FROM leases ORDER BY unit")
        assert found == [
            ("S1", False, new.hashes["S1"]),
            ("S2", True, UNITS.hashes["S2"]),
            ("S3", False, new.hashes["S3"]),
        ]


def test_a_database_that_cannot_be_reached_at_start_exits_1_for_systemd_to_restart(
    world: World,
) -> None:
    """A start that meets the database down (or restarting: "the database system is
    starting up") exits 1, one line: systemd starts it again. Exit 2 (a config error,
    RestartPreventExitStatus=) stopped that instance for good (the fleet soak)."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    world.sheet([["url"], ["https://a"]])
    config = world.config(state={"url": f"postgresql://postgres@127.0.0.1:{port}/none"})
    for command in ("run", "once"):
        done = subprocess.run(
            [sys.executable, "-m", "sheetsync", command, "-c", str(config)],
            env={**os.environ, **world.environ},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert f"127.0.0.1:{port}" in done.stderr
