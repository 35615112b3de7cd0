"""Config loading: validation errors name the file and the key; secrets stay secret."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sheetsync.config import (
    AxiomSettings,
    Columns,
    MetricsSettings,
    StateSettings,
    Statuses,
    Watch,
    load_config,
    parse_config,
)
from sheetsync.config.google_settings import GoogleSettings, IdentitySettings
from sheetsync.config.schema import keys
from sheetsync.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = (
    AxiomSettings,
    GoogleSettings,
    IdentitySettings,
    StateSettings,
    MetricsSettings,
    Watch,
    Columns,
    Statuses,
)
"""Every table of the config file, each a section class."""
MINIMAL = """
[axiom]
api_key_env = "K"
[google]
service_account_file = "sa.json"
[[watch]]
name = "scrape"
spreadsheet = "https://docs.google.com/spreadsheets/d/1AbC_d-9/edit#gid=0"
worksheet = "Queue"
automation = "Scrape product page"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sheetsync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid() -> None:
    """The shipped example config loads and lists every documented table."""
    config = load_config(ROOT / "config" / "sheetsync.example.toml", {}, secrets=False)
    assert config.watch[0].name == "scrape"
    assert config.axiom.calls_per_minute == 90


def test_readme_lists_every_config_key() -> None:
    """The README's configuration reference names every key the code accepts."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for model in SECTIONS:
        for key in keys(model):
            assert f"`{key}`" in readme, f"README lacks {model.__name__}.{key}"


def test_example_config_shows_every_key() -> None:
    """The commented example config shows every key the code accepts."""
    text = (ROOT / "config" / "sheetsync.example.toml").read_text(encoding="utf-8")
    for model in SECTIONS:
        for key in set(keys(model)) - {"columns", "statuses"}:
            assert f"{key} =" in text, f"the example config lacks {model.__name__}.{key}"


def test_minimal_config_and_url_spreadsheet(tmp_path: Path) -> None:
    """A spreadsheet URL is reduced to its id; relative paths follow the config file."""
    config = load_config(write(tmp_path, MINIMAL), {"K": "secret-key-1"})
    assert config.watch[0].spreadsheet_id == "1AbC_d-9"
    assert config.service_account_path == tmp_path / "sa.json"
    assert config.state_path == tmp_path / "sheetsync.db"
    assert config.axiom_key is not None and config.axiom_key.reveal() == "secret-key-1"
    assert "secret-key-1" not in repr(config)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("[[watch]]", "[[watch]]\nstauts = 1"), "watch[0] (scrape).stauts: unknown key"),
        (('mode = "row"', ""), None),
        (("[axiom]", "[axiom]\nbogus = true"), "axiom.bogus: unknown key"),
        (('worksheet = "Queue"', 'worksheet = "Queue"\nmode = "rows"'), "watch[0] (scrape).mode"),
        (('worksheet = "Queue"', 'worksheet = "Queue"\ninterval_seconds = -1'), "interval_seconds"),
        (('worksheet = "Queue"', 'worksheet = "Queue"\ncron = "every day"'), "invalid cron"),
        (('automation = "Scrape product page"', ""), "set automation"),
        (('service_account_file = "sa.json"', ""), "google.service_account_file: required"),
    ],
)
def test_errors_name_file_and_key(
    tmp_path: Path, edit: tuple[str, str], expected: str | None
) -> None:
    """Every invalid config gives one line naming the file and the offending key."""
    text = MINIMAL.replace(*edit)
    path = write(tmp_path, text)
    if expected is None:
        load_config(path, {"K": "x" * 8})
        return
    with pytest.raises(ConfigError) as info:
        load_config(path, {"K": "x" * 8})
    message = str(info.value)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


def test_missing_env_key_is_a_config_error(tmp_path: Path) -> None:
    """An unset key variable is reported by name."""
    with pytest.raises(ConfigError, match="environment variable K is not set"):
        load_config(write(tmp_path, MINIMAL), {})


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A key file with mode 0644 is refused with a one-line error, like ssh does."""
    key = tmp_path / "axiom-key"
    key.write_text("k-0123456789\n")
    key.chmod(0o644)
    path = write(tmp_path, MINIMAL.replace('api_key_env = "K"', 'api_key_file = "axiom-key"'))
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert "readable by others (mode 0644)" in str(info.value)
    assert "k-0123456789" not in str(info.value)
    key.chmod(0o600)
    config = load_config(path, {})
    assert config.axiom_key is not None and config.axiom_key.reveal() == "k-0123456789"


def test_systemd_credential_is_accepted_as_delivered(tmp_path: Path) -> None:
    """A key in $CREDENTIALS_DIRECTORY is read whatever its mode (the directory is private)."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "axiom-key").write_text("cred-key-value")
    os.chmod(creds / "axiom-key", 0o440)
    text = MINIMAL.replace(
        'api_key_env = "K"', 'api_key_file = "${CREDENTIALS_DIRECTORY}/axiom-key"'
    )
    config = load_config(write(tmp_path, text), {"CREDENTIALS_DIRECTORY": str(creds)})
    assert config.axiom_key is not None and config.axiom_key.reveal() == "cred-key-value"


def test_not_toml_is_one_line(tmp_path: Path) -> None:
    """A TOML syntax error names the file."""
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[axiom\n"), {})


BASE: dict[str, Any] = {
    "axiom": {"api_key_env": "K"},
    "google": {"service_account_file": "sa.json"},
    "watch": [{"name": "scrape", "spreadsheet": "s", "worksheet": "Q", "automation": "A"}],
}


def with_watch(**keys: Any) -> dict[str, Any]:
    return {**BASE, "watch": [{**BASE["watch"][0], **keys}]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            with_watch(interval_seconds="soon"),
            "watch[0] (scrape).interval_seconds: expected a number, got 'soon'",
        ),
        (
            with_watch(interval_seconds=0),
            "watch[0] (scrape).interval_seconds: must be greater than 0, got 0",
        ),
        (with_watch(interval_seconds=float("inf")), "interval_seconds: must be a finite number"),
        (
            with_watch(max_rows_per_trigger=2.5),
            "max_rows_per_trigger: expected a whole number, got 2.5",
        ),
        (
            with_watch(max_rows_per_trigger=True),
            "max_rows_per_trigger: expected a whole number, got True",
        ),
        (with_watch(worksheet=2024), "watch[0] (scrape).worksheet: expected a string, got 2024"),
        (with_watch(worksheet=""), "watch[0] (scrape).worksheet: must not be empty"),
        (with_watch(track_runs="maybe"), "track_runs: expected true or false, got 'maybe'"),
        (with_watch(mode="rows"), "mode: must be one of 'row', 'batch', got 'rows'"),
        (
            with_watch(input_columns=["url", 3]),
            "(scrape).input_columns[1]: expected a string, got 3",
        ),
        (with_watch(input_columns="url"), "input_columns: expected a list, got 'url'"),
        (
            with_watch(columns={"status": "S", "colour": "red"}),
            "(scrape).columns.colour: unknown key",
        ),
        (
            with_watch(statuses={"error": "Triggered"}),
            "(scrape).statuses: status words must be distinct",
        ),
        ({**BASE, "watch": BASE["watch"][0]}, "watch: expected an array of tables, got a table"),
        ({**BASE, "watch": [BASE["watch"][0], "x"]}, "watch[1]: expected a table, got 'x'"),
        ({**BASE, "watch": BASE["watch"] * 2}, "watch names must be unique, repeated: scrape"),
        ({**BASE, "axiom": {}}, "axiom: set exactly one of api_key_env or api_key_file"),
        (
            {**BASE, "google": {"service_acount_file": "sa.json"}},
            "google.service_acount_file: unknown key",
        ),
        ({**BASE, "google": {}}, "google.service_account_file: required key is missing"),
        (
            {**BASE, "google": {"service_account_file": "sa.json", "max_retries": 11}},
            "google.max_retries: must be at most 10, got 11",
        ),
    ],
)
def test_each_problem_is_named_exactly(raw: dict[str, Any], expected: str) -> None:
    """Type, bound and shape errors name the key as the file spells it, then what is wrong."""
    source = Path("/etc/sheetsync/sheetsync.toml")
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source)
    assert str(info.value).startswith(f"{source}: ")
    assert expected in str(info.value)


def test_numbers_and_booleans_are_read_as_people_write_them() -> None:
    """`5` for 5.0, a quoted number, `"yes"`, a whole float for an int: all mean what they say."""
    config = parse_config(
        with_watch(
            interval_seconds=5,
            settle_seconds="1.5",
            max_rows_per_trigger=20.0,
            track_runs="yes",
            input_columns=["url"],
        ),
        Path("sheetsync.toml"),
    )
    watch = config.watch[0]
    assert (watch.interval_seconds, watch.settle_seconds) == (5.0, 1.5)
    assert isinstance(watch.interval_seconds, float)
    assert watch.max_rows_per_trigger == 20 and isinstance(watch.max_rows_per_trigger, int)
    assert watch.track_runs is True and watch.input_columns == ("url",)


def test_columns_remember_which_names_the_file_set() -> None:
    """Optional result columns are added only when their name is set (or tracking needs one)."""
    plain = parse_config(BASE, Path("a.toml")).watch[0]
    asked = parse_config(with_watch(columns={"triggered_at": "Sent at"}), Path("a.toml")).watch[0]
    assert plain.columns.given == frozenset()
    assert asked.columns.given == {"triggered_at"}
    assert asked.columns.triggered_at == "Sent at" and asked.columns.status == "Status"
    assert "given" not in keys(Columns)


def with_state(**keys: Any) -> dict[str, Any]:
    return {**BASE, "state": keys}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            {"url": "postgresql://app:hunter2@db/sync"},
            "state.url: must not contain the password: use password_file",
        ),
        (
            {"url": "postgresql://app@db/sync?password=hunter2"},
            "state.url: must not contain the password",
        ),
        ({"url": "mysql://app@db/sync"}, "state.url: must start with postgresql://"),
        ({"url": ""}, "state.url: must not be empty"),
        (
            {"url": "postgresql://db/sync", "path": "x.db"},
            "state.url: set path (SQLite) or url (PostgreSQL), not both",
        ),
        (
            {"url": "postgresql://db/sync", "renew_seconds": 20},
            "state.renew_seconds: must be at most half of lease_seconds",
        ),
        ({"url": "postgresql://db/sync", "lease_seconds": 0}, "state.lease_seconds: must be"),
        ({"url": "postgresql://db/sync", "pool_size": 1}, "state.pool_size: must be greater"),
        ({"url": "postgresql://db/sync", "nope": 1}, "state.nope: unknown key"),
        ({"lease_seconds": 20}, "state.lease_seconds: needs url (PostgreSQL)"),
        ({"path": "x.db", "password_file": "pw"}, "state.password_file: needs url"),
    ],
)
def test_state_problems_are_named_exactly(state: dict[str, Any], expected: str) -> None:
    """`[state]`: one place for the state, no password in the TOML, sane lease timings."""
    source = Path("/etc/sheetsync/sheetsync.toml")
    with pytest.raises(ConfigError) as info:
        parse_config(with_state(**state), source)
    assert str(info.value).startswith(f"{source}: ")
    assert expected in str(info.value)
    assert "hunter2" not in str(info.value)


def test_state_url_selects_postgresql_with_its_keys() -> None:
    """`url` selects PostgreSQL and carries the lease timings; a bare `path` stays SQLite."""
    source = Path("/etc/sheetsync/sheetsync.toml")
    config = parse_config(
        with_state(url="postgresql://app@db/sync", lease_seconds=20, acquire_seconds="2"), source
    )
    assert config.state.postgres and config.state.url == "postgresql://app@db/sync"
    assert config.state.timings.lease == 20 and config.state.timings.acquire == 2
    assert config.state.timings.renew == 10 and config.state.pool_size == 8
    local = parse_config(with_state(path="x.db"), source)
    assert not local.state.postgres and local.state_path == Path("/etc/sheetsync/x.db")


def test_a_password_file_naming_an_unset_variable_is_named(tmp_path: Path) -> None:
    """`password_file` with an unset `${VAR}` names the key, also without secrets (`status`)."""
    text = MINIMAL + '[state]\nurl = "postgresql://db/s"\npassword_file = "${NOPE}/pw"\n'
    with pytest.raises(ConfigError, match=r"state\.password_file: .*\$\{NOPE\}"):
        load_config(write(tmp_path, text), {}, secrets=False)
