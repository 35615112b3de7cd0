"""The pure parts of the fleet: units from a config, fair spreading, the `[state]` keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sheetsync.adapters.store.fairness import LeaseRow, fair_share, plan_round
from sheetsync.adapters.store.settings import conninfo, read_password, shown_url
from sheetsync.adapters.store.units import units_of
from sheetsync.config import StateSettings, Watch
from sheetsync.errors import ConfigError

HASHES = {"S1": "h", "S2": "h", "S3": "h", "S4": "h"}


def row(unit: str, holder: str, *, free: bool = False, config: str = "h") -> LeaseRow:
    return LeaseRow(unit, holder, 1, free, config)


@pytest.mark.parametrize(
    ("units", "live", "share"), [(4, 1, 4), (4, 2, 2), (4, 3, 2), (12, 3, 4), (1, 5, 1), (3, 0, 3)]
)
def test_fair_share_is_the_ceiling_of_units_per_live_instance(
    units: int, live: int, share: int
) -> None:
    """Every unit finds a holder even when the division is not exact."""
    assert fair_share(units, live) == share


@pytest.mark.parametrize(
    ("rows", "held", "live", "take", "shed", "refused"),
    [
        ([], [], 1, ["S1", "S2", "S3", "S4"], [], []),
        ([], [], 2, ["S1", "S2"], [], []),
        ([row("S1", "me"), row("S2", "me")], ["S1", "S2"], 2, [], [], []),
        ([row(u, "me") for u in HASHES], list(HASHES), 2, [], ["S3", "S4"], []),
        ([row("S1", "peer"), row("S2", "dead", free=True)], [], 2, ["S2", "S3"], [], []),
        ([row("S1", "peer", config="other")], [], 4, ["S2"], [], ["S1"]),
        ([row("S1", "gone", free=True, config="other")], [], 4, ["S1"], [], []),
    ],
)
def test_a_round_takes_free_units_up_to_the_share_and_sheds_the_excess(
    rows: list[LeaseRow],
    held: list[str],
    live: int,
    take: list[str],
    shed: list[str],
    refused: list[str],
) -> None:
    """Taken: free or never-leased units, up to the share; refused: a live different config."""
    found = plan_round(rows, HASHES, "me", held, live, order=lambda unit: int(unit[1:]))
    assert (found.take, found.shed, found.refused) == (take, shed, refused)


def watch(name: str, sheet: str, **extra: object) -> Watch:
    return Watch(name=name, spreadsheet=sheet, worksheet="Q", automation="A", **extra)  # type: ignore[arg-type]


def test_units_are_spreadsheets_and_their_hash_follows_the_watches() -> None:
    """Watches on one spreadsheet (id or URL) share a unit; any change of them changes its hash."""
    url = "https://docs.google.com/spreadsheets/d/S1/edit"
    one = units_of([watch("a", "S1"), watch("b", url), watch("c", "S2")])
    assert dict(one.of_watch) == {"a": "S1", "b": "S1", "c": "S2"}
    assert one.watches("S1") == ["a", "b"]
    same = units_of([watch("c", "S2"), watch("b", url), watch("a", "S1")])
    assert same.hashes == one.hashes
    other = units_of([watch("a", "S1", interval_seconds=5), watch("b", url), watch("c", "S2")])
    assert other.hashes["S1"] != one.hashes["S1"] and other.hashes["S2"] == one.hashes["S2"]


def test_the_password_file_is_private_registered_and_never_shown(tmp_path: Path) -> None:
    """The password comes from a chmod-600 file, is masked in logs, and stays out of `where`."""
    from sheetsync.redact import redact

    secret = tmp_path / "pg-password"
    secret.write_text("s3cret-pass\n")
    secret.chmod(0o644)
    state = StateSettings(url="postgresql://app@db/sync", password_file="pg-password")
    with pytest.raises(ConfigError, match="readable by others"):
        read_password(state, tmp_path / "sheetsync.toml", {})
    secret.chmod(0o600)
    password = read_password(state, tmp_path / "sheetsync.toml", {})
    assert password is not None and password.reveal() == "s3cret-pass"
    assert redact("failed: s3cret-pass") == "failed: ***"
    assert "s3cret" not in repr(password)
    assert shown_url("postgresql://app:x@h1:5432,h2/sync?sslmode=require") == (
        "postgresql://app@h1:5432,h2/sync"
    )


def test_connections_notice_a_dead_peer_in_seconds() -> None:
    """Defaults: connect timeout, keepalives, tcp_user_timeout, the primary only; the URL wins."""
    from psycopg.conninfo import conninfo_to_dict

    found = conninfo_to_dict(conninfo("postgresql://app@db/sync?connect_timeout=2"))
    assert found["connect_timeout"] == "2"
    assert found["keepalives"] == "1" and found["tcp_user_timeout"] == "10000"
    assert found["target_session_attrs"] == "read-write"


def test_the_idle_daemon_does_not_load_psycopg() -> None:
    """Without `[state] url`, nothing imports psycopg (the idle daemon's memory is a target)."""
    code = (
        "import sys, sheetsync.service.cli, sheetsync.service.daemon, "
        "sheetsync.adapters.store.sqlite,"
        " sheetsync.adapters.store.postgres, sheetsync.adapters.store.settings, "
        "sheetsync.adapters.store.state_migration;"
        " print(sorted(m for m in sys.modules if m.startswith('psycopg')))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"
