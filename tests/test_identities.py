"""Issue 14: several Google identities in one process, each with its own pace.

Watches name their identity or are spread over them; every identity reads only its own
spreadsheets, at its own pace; identities of one Cloud project share its budget; `check`
opens every spreadsheet with the identity that will read it. Counted by the emulator,
which meters each service account and each project per minute on the fake clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sheetsync.config import load_config
from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.emulator.google import GoogleEmulator
from sheetsync.errors import ConfigError
from sheetsync.service.cli import main
from sheetsync.simulation import simulate
from sheetsync.testing import AUTOMATION, KEY_ENV, TEST_KEY, Clock, World

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]
A = "reader-a@alpha.iam.gserviceaccount.com"
B = "reader-b@alpha.iam.gserviceaccount.com"
C = "reader-c@gamma.iam.gserviceaccount.com"


def key_files(world: World, *emails: str) -> list[dict[str, Any]]:
    """One key file per service account; their `[[google.identity]]` tables."""
    tables = []
    for email in emails:
        name = email.split("@")[0]
        world.google.write_service_account_file(world.folder / f"{name}.json", email)
        tables.append({"name": name, "service_account_file": f"{name}.json"})
    return tables


def books(world: World, count: int, rows: int = 0, shared: tuple[str, ...] = ()) -> list[str]:
    """`count` spreadsheets of one tab `Q`, `rows` new rows each, shared with `shared`."""
    ids = []
    for i in range(count):
        data = [[f"https://shop.example/{i}-{r}", f"P{r}"] for r in range(rows)]
        sid = world.google.create_spreadsheet(f"Book {i}", {"Q": [HEADER, *data]})
        if shared:
            world.google.share(sid, *shared)
        ids.append(sid)
    return ids


def watches(ids: list[str], interval: float = 10.0, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"name": f"w{i}", "spreadsheet": sid, "worksheet": "Q", "interval_seconds": interval}
        | extra
        for i, sid in enumerate(ids)
    ]


# -- the config -------------------------------------------------------------------------
def test_identity_tables_and_the_single_key_of_old(world: World) -> None:
    """`service_account_file` is the identity `default`; tables take [google]'s budgets
    unless they set their own."""
    world.sheet([HEADER])
    old = load_config(world.config(), world.environ)
    assert [(i.name, i.reads_per_minute) for i in old.google.identities] == [("default", 55)]
    tables = key_files(world, A, B)
    tables[1]["reads_per_minute"] = 30
    config = load_config(world.config(google={"identity": tables}), world.environ)
    assert [
        (i.name, i.reads_per_minute, i.writes_per_minute) for i in config.google.identities
    ] == [
        ("reader-a", 55, 55),
        ("reader-b", 30, 55),
    ]
    assert config.key_path(config.google.identities[1]) == world.folder / "reader-b.json"


@pytest.mark.parametrize(
    ("google", "watch", "expected"),
    [
        (
            {"identity": [{"name": "x", "service_account_file": "x.json"}]},
            {"identity": "y"},
            "watch w0: identity 'y' is not a [[google.identity]] name (x)",
        ),
        (
            {"identity": [{"name": "x", "service_account_file": "x.json"}] * 2},
            {},
            "google: identity names must be unique, repeated: x",
        ),
        (
            {
                "identity": [{"name": "x", "service_account_file": "x.json"}],
                "service_account_file": "sa.json",
            },
            {},
            "google.identity: set service_account_file or [[google.identity]], not both",
        ),
        (
            {"identity": [{"name": "x"}]},
            {},
            "google.identity[0] (x).service_account_file: required key is missing",
        ),
    ],
)
def test_identity_mistakes_name_the_key(
    world: World, google: dict[str, Any], watch: dict[str, Any], expected: str
) -> None:
    """Each mistake is one line naming the key."""
    world.sheet([HEADER])
    path = world.config(watch, google=google)
    with pytest.raises(ConfigError) as info:
        load_config(path, world.environ)
    assert expected in str(info.value), str(info.value)


def test_one_spreadsheet_is_read_by_one_identity(world: World) -> None:
    """Two watches of one spreadsheet naming different identities are refused."""
    world.sheet([HEADER])
    world.google.add_sheet(world.spreadsheet_id, "B", [HEADER])
    tables = key_files(world, A, B)
    path = world.config(
        {"name": "one", "identity": "reader-a"},
        {"name": "two", "identity": "reader-b", "worksheet": "B"},
        google={"identity": tables},
    )
    with pytest.raises(ConfigError, match="watches one and two read one spreadsheet with"):
        load_config(path, world.environ)


# -- in the running process -------------------------------------------------------------
def test_spreadsheets_spread_over_identities_each_read_by_its_own(world: World) -> None:
    """Named identities are kept; the rest are spread by load; each spreadsheet, shared with
    its identity only, is read and written by it alone."""
    tables = key_files(world, A, B, C)
    ids = books(world, 7, rows=1)
    config = watches(ids)
    config[0]["identity"] = "reader-c"
    config[1]["interval_seconds"] = 2.0  # the busiest: 30 reads a minute
    world.config(*config, google={"identity": tables})
    runtime = world.runtime()
    routes = runtime.sheets.routes
    assert routes[ids[0]] == "reader-c"
    load = {name: 0.0 for name in ("reader-a", "reader-b", "reader-c")}
    for i, sid in enumerate(ids):
        load[routes[sid]] += 60 / config[i]["interval_seconds"]
    assert load == {"reader-a": 30.0, "reader-b": 18.0, "reader-c": 18.0}
    email = {"reader-a": A, "reader-b": B, "reader-c": C}
    for sid in ids:
        world.google.share(sid, email[routes[sid]])
    reports = world.once()
    assert [r.error for r in reports] == [None] * 7
    assert len(world.axiom.triggers) == 7
    assert world.google.reads(A) == 2 * 1  # one spreadsheet with work: two reads
    assert world.google.reads(B) == 2 * 3 and world.google.reads(C) == 2 * 3


@pytest.fixture
def metered(tmp_path: Path) -> Iterator[World]:
    """Google meters 60 reads and writes a minute per account, 100 per project (fake clock)."""
    clock = Clock()
    google = GoogleEmulator(
        reads_per_minute=60,
        writes_per_minute=60,
        project_reads_per_minute=100,
        project_writes_per_minute=100,
        clock=clock.monotonic,
    )
    axiom = AxiomEmulator(api_key=TEST_KEY, automations=[AUTOMATION], clock=clock.monotonic)
    google.start()
    axiom.start()
    world = World(tmp_path, google, axiom, clock=clock, environ={KEY_ENV: TEST_KEY})
    try:
        yield world
    finally:
        world.stop()


def test_every_identity_keeps_its_own_pace(metered: World) -> None:
    """Two accounts of two projects share 100 spreadsheets at 10 s: each spends its own 55
    reads a minute, evenly, without a 429; each spreadsheet every 50 * 60 / 55 s."""
    world = metered
    tables = key_files(world, A, C)
    ids = books(world, 100)
    world.config(*watches(ids), google={"identity": tables})
    sim = simulate(world.clock, world.runtime(), duration=600.0)
    assert world.google.quota_rejections == 0 and sim.errors == []
    assert len(sim.teams) == 2
    for team in sim.teams:
        assert len(team.groups) == 50
        effective = team.budget().effective(10.0)
        assert effective == pytest.approx(50 * 60 / 55)
        for key in team.groups:
            assert all(abs(i - effective) <= 0.1 * effective for i in sim.intervals(key)), key
    for email in (A, C):
        assert 10 * 55 - 2 <= world.google.reads(email) <= 10 * 55 + 1


def test_identities_of_one_project_share_its_budget(metered: World) -> None:
    """Two accounts of one project, each allowed 55, share its 90 (Google's 100 here, less
    headroom): 45 reads a minute each, and the project never meets Google's 429."""
    world = metered
    tables = key_files(world, A, B)
    ids = books(world, 40)
    google = {"identity": tables, "project_reads_per_minute": 90}
    world.config(*watches(ids), google=google)
    sim = simulate(world.clock, world.runtime(), duration=300.0)
    assert world.google.quota_rejections == 0 and sim.errors == []
    assert [t.available for t in sim.teams] == [45.0, 45.0]
    text = sim.teams[0].budget().describe()
    assert "it may spend 45 (its share of project alpha's project_reads_per_minute = 90)" in text
    assert world.google.reads(A) + world.google.reads(B) <= 90 * 5 + 2


def test_check_opens_every_spreadsheet_with_its_identity(world: World) -> None:
    """check lists every identity and reads each spreadsheet as its identity: one not shared
    with it is a problem that names the account to share it with."""
    tables = key_files(world, A, C)
    ids = books(world, 2, rows=1)
    world.google.share(ids[0], A)
    world.google.share(ids[1], A)  # but read by reader-c
    config = world.config(
        *watches(ids[:1], identity="reader-a"),
        {"name": "w1", "spreadsheet": ids[1], "worksheet": "Q", "identity": "reader-c"},
        google={"identity": tables},
    )
    result = CliRunner().invoke(main, ["check", "-c", str(config)], env=world.environ)
    assert result.exit_code == 1, result.output
    assert f"✓ service account reader-a ({A})" in result.output
    assert f"✓ service account reader-c ({C})" in result.output
    assert "✓ watch w0 ('Q')" in result.output
    assert f"✗ watch w1 ('Q'): spreadsheet {ids[1]}: permission denied; share it with {C}" in (
        result.output
    )
