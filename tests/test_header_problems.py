"""Header rows that would silently send, drop or duplicate data are named, in check and cycle."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from sheetsync.service.cli import main
from sheetsync.testing import World


def invoke(world: World, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=world.environ, catch_exceptions=False)
    return result.exit_code, result.output


def test_a_second_result_header_is_an_error_naming_both_columns(world: World) -> None:
    """Two `Status` columns: the cycle and check name both; nothing is sent to axiom."""
    world.sheet([["url", "Status", "product", "status"], ["https://a", "", "A", "keep me"]])
    config = world.config()
    sheet = world.values()
    (report,) = world.once()
    assert report.error is not None
    assert "columns B and D" in report.error and "'Status'" in report.error, report.error
    assert world.axiom.triggers == [] and world.values() == sheet
    code, output = invoke(world, "check", "-c", str(config))
    assert code == 1, output
    assert any(ln.startswith("✗") and "columns B and D" in ln for ln in output.splitlines())


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u2060", "\u00ad"])
def test_a_header_differing_only_by_invisible_characters_gets_a_hint(
    world: World, invisible: str
) -> None:
    """`Status` plus a zero-width character: a near-miss hint, no second `Status` added."""
    world.sheet([["url", f"Status{invisible}", "product"], ["https://a", "", "A"]])
    config = world.config()
    header = world.values()[0]
    (report,) = world.once()
    assert report.error is not None and "invisible" in report.error, report.error
    assert "column B" in report.error and f"U+{ord(invisible):04X}" in report.error
    assert world.values()[0] == header
    assert world.axiom.triggers == []
    code, output = invoke(world, "check", "-c", str(config))
    assert code == 1 and "invisible" in output, output


def test_a_ready_column_with_an_invisible_character_gets_a_hint(world: World) -> None:
    """A configured column missing from the header points at its near miss."""
    world.sheet([["url", "Ready\u200b"], ["https://a", "yes"]])
    world.config({"ready_column": "Ready"})
    (report,) = world.once()
    assert report.error is not None and "column B" in report.error, report.error
    assert "invisible" in report.error


def test_duplicate_inputs_and_unheaded_data_warn_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """check warns about both; the cycle logs one WARNING each, the first time only."""
    world.sheet(
        [
            ["url", "product", "URL", "", "note"],
            ["https://a", "A", "https://b", "stray", "n"],
        ]
    )
    config = world.config()
    code, output = invoke(world, "check", "-c", str(config))
    assert code == 0, output
    warnings = [ln for ln in output.splitlines() if ln.startswith("!")]
    assert any("'url'" in ln and "columns A and C" in ln for ln in warnings), output
    assert any("column D" in ln and "no header" in ln for ln in warnings), output
    with caplog.at_level(logging.WARNING):
        world.once()
        world.google.insert_rows(world.spreadsheet_id, world.tab, 3, values=[["https://c", "C"]])
        world.once()
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("columns A and C" in m for m in logged) == 1, logged
    assert sum("column D" in m and "no header" in m for m in logged) == 1, logged
    assert len(world.axiom.triggers) == 2
