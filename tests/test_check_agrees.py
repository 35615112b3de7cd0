"""`sheetsync check` predicts what `once` does, and config mistakes name their fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sheetsync.config import load_config
from sheetsync.errors import ConfigError
from sheetsync.service.cli import main
from sheetsync.testing import World

HEADER = ["url", "product"]


def invoke(world: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=world.environ, catch_exceptions=False)
    return result.exit_code, result.output


def test_check_matches_tab_names_as_once_does_and_lists_tabs(world: World) -> None:
    """A tab named in another case is the same tab for check and once; a wrong one lists tabs."""
    world.sheet([HEADER, ["https://a", "A"]], tab="Queue")
    config = world.config({"worksheet": "queue"})
    code, output = invoke(world, "check", "-c", str(config))
    assert code == 0, output
    assert invoke(world, "once", "-c", str(config))[0] == 0
    assert world.column("Status") == ["triggered"]
    world.config({"worksheet": "Inbox"})
    code, output = invoke(world, "check", "-c", str(config))
    assert code == 1 and "'Inbox' does not exist; its tabs: 'Queue'" in output, output


def test_check_predicts_start_from_now_skips(world: World) -> None:
    """With start_from = "now", check says the rows present will be skipped, not triggered."""
    world.sheet([HEADER, ["https://a", "A"], ["https://b", "B"]])
    config = world.config({"start_from": "now"})
    _, output = invoke(world, "check", "-c", str(config))
    assert 'would trigger 0 row(s) and mark 2 skipped (start_from = "now")' in output, output
    invoke(world, "once", "-c", str(config))
    assert world.column("Status") == ["skipped", "skipped"] and world.axiom.triggers == []


def test_check_says_what_happens_to_duplicate_input_headers(world: World) -> None:
    """Two `url` columns are both sent (as `once` sends them), and check says so."""
    world.sheet([["url", "product", "url"], ["https://a", "A", "https://b"]])
    config = world.config()
    _, output = invoke(world, "check", "-c", str(config))
    assert "columns A and C have the same header 'url': both are sent to axiom" in output, output
    invoke(world, "once", "-c", str(config))
    assert world.payloads() == [[["url", "product", "url"], ["https://a", "A", "https://b"]]]


def test_unknown_key_gets_a_did_you_mean(world: World) -> None:
    """A misspelt key names the key it probably meant."""
    world.sheet([HEADER])
    config = world.config({"interval_secs": 5, "interval_seconds": None})
    with pytest.raises(
        ConfigError, match=r"interval_secs: unknown key; did you mean 'interval_seconds'\?"
    ):
        load_config(config, world.environ)


def test_unset_variable_in_a_path_is_an_error_naming_it(world: World, tmp_path: Path) -> None:
    """`${CREDENTIALS_DIRECTORY}` unset outside systemd: an error naming key and variable."""
    world.sheet([HEADER])
    config = world.config(axiom={"api_key_env": None, "api_key_file": "${CREDENTIALS_DIRECTORY}/k"})
    text = config.read_text().replace("api_key_env = null\n", "")
    config.write_text(text)
    with pytest.raises(
        ConfigError, match=r"axiom.api_key_file: .*\$\{CREDENTIALS_DIRECTORY\}, which is not set"
    ):
        load_config(config, {})


def test_signed_in_spreadsheet_urls_work(world: World) -> None:
    """`.../spreadsheets/u/0/d/ID/edit` (as a signed-in browser shows it) is the id."""
    sid = world.sheet([HEADER, ["https://a", "A"]])
    url = f"https://docs.google.com/spreadsheets/u/0/d/{sid}/edit#gid=0"
    config = world.config({"spreadsheet": url})
    assert load_config(config, world.environ).watch[0].spreadsheet_id == sid
    assert invoke(world, "once", "-c", str(config))[0] == 0
