"""Text an answer can carry that the journal or a hash cannot take: a lone surrogate
(`\\ud800` in JSON: a `str` no store, hash or log line can encode; before afc73ac a
`UnicodeEncodeError` out of `once`, every cycle) and U+0000 (PostgreSQL cannot hold it: an
id holding one never matched the journal's there). Each becomes U+FFFD as the answer is
decoded (`core/text.py`): in a cell, a write's echo, Google's refusal, axiom's and Drive's
answers; both stores see the same cells and the cycle goes on (the second review's cases)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from sheetsync.adapters.google.lean import value_ranges
from sheetsync.core.text import mended
from sheetsync.service.drive import ChangeFeed
from sheetsync.testing import World

HEADER = ["url", "product", "Status", "Run link", "Message", "sheetsync id"]
ODD = ["a\ud800", "\udfffb", "\ud83d\ude00", "\\ud800", "x\ud800\ud800y", "\udc00\ud800"]
"""Lone surrogates, a pair (an emoji: stays), an escaped backslash before `ud800` (text)."""


def test_a_new_rows_input_with_a_lone_surrogate_is_sent_once(world: World) -> None:
    world.sheet([HEADER, ["https://a\ud800", "A"], ["https://b", "B"]])
    world.config({"mode": "row"})
    world.once()
    urls = sorted(p[1][0] for p in world.payloads())  # [header, row]
    assert urls == ["https://a\ufffd", "https://b"]
    world.once()
    assert len(world.payloads()) == 2 and world.row(2)["Status"] == "triggered"


def test_a_lost_journals_row_showing_a_lone_surrogate_is_adopted(world: World) -> None:
    done = ["https://a", "A", "triggered", "https://run/\udc00", "", "r00000000001"]
    world.sheet([HEADER, done, ["https://b", "B"]])
    world.config({"mode": "row"})
    world.once()
    assert [p[1][0] for p in world.payloads()] == ["https://b"]
    entry = world.runtime().journal.entries("w0", world.clock())["r00000000001"]
    assert (entry.state, entry.link) == ("triggered", "https://run/\ufffd")


def test_an_axiom_message_with_a_lone_surrogate_is_recorded(world: World) -> None:
    world.sheet([HEADER, ["https://a", "A"]])
    world.config({"mode": "row"})
    world.axiom.add_fault(path="/trigger$", status=400, body={"message": "bad \ud800 input"})
    world.once()
    assert world.row(2)["Message"].startswith("bad \ufffd input")


@pytest.mark.parametrize("seed", range(4))
def test_lone_surrogates_are_mended_on_every_path_of_the_walk(seed: int) -> None:
    """Runs, single rows, rows at a piece's end and escapes cut in two read as `json.loads`
    then `mended` reads them."""
    rng = random.Random(seed)
    rows = [
        [rng.choice([*ODD, "plain", "x],y"]) * rng.randrange(1, 4) for _ in range(4)]
        for _ in range(rng.choice([30, 3_000]))
    ]
    text = json.dumps({"valueRanges": [{"values": rows}]}, indent=rng.choice([None, 2]))
    cuts = [*sorted(rng.sample(range(1, len(text)), 40)), len(text)]
    pieces = [text[a:b] for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]
    got = value_ranges(iter(pieces), 1, lambda _i, r: list(r))
    assert got == [mended(json.loads(text)["valueRanges"][0]["values"])]
    cells = "".join(cell for row in got[0] for cell in row)
    assert "\\ud800" in cells and "\U0001f600" in cells  # as text; a pair decoded
    assert not any("\ud800" <= c <= "\udfff" for c in cells)


@pytest.mark.parametrize("at", range(1, 6))
def test_the_only_escape_cut_in_two_by_the_pieces_is_mended(at: int) -> None:
    """One lone surrogate in the answer, its escape split between two pieces."""
    rows = [["plain"]] * 50 + [["a\ud800"]]
    text = json.dumps({"valueRanges": [{"values": rows}]})
    cut = text.index("\\ud800") + at
    got = value_ranges(iter([text[:cut], text[cut:]]), 1, lambda _i, r: list(r))
    assert got == [[*rows[:-1], ["a\ufffd"]]]


def state(pg: bool, pg_url: str) -> dict[str, Any]:
    return {"state": {"url": pg_url}} if pg else {}


@pytest.mark.parametrize("pg", [False, True], ids=["sqlite", "postgres"])
def test_a_retry_row_whose_id_holds_a_nul_gets_its_result(
    world: World, pg_url: str, pg: bool
) -> None:
    """Before: on PostgreSQL the row was sent once and then stayed `sending` forever."""
    world.sheet([HEADER, ["https://0", "P0", "retry", "", "", "r0000000000\x00"]])
    world.config({"mode": "row"}, **state(pg, pg_url))
    for _ in range(4):
        world.once()
        world.clock.advance(120)
    assert len(world.payloads()) == 1 and world.values()[1][2] == "triggered"
    world.close_runtime()


@pytest.mark.parametrize("pg", [False, True], ids=["sqlite", "postgres"])
def test_a_handled_row_whose_id_holds_a_nul_is_adopted_once(
    world: World, pg_url: str, pg: bool
) -> None:
    """Before: on PostgreSQL it was adopted again (an ERROR and a history line) every cycle."""
    world.sheet([HEADER, ["https://0", "P0", "triggered", "https://run/0", "", "r000000000\x00"]])
    world.config({"mode": "row"}, **state(pg, pg_url))
    lines = []
    for _ in range(4):
        world.once()
        lines.append(len(world.runtime().journal.latest("w0", 1000)))
        world.clock.advance(30)
    assert lines == [1, 1, 1, 1] and world.payloads() == []
    world.close_runtime()


@pytest.mark.parametrize("where", ["values:batchGet", "values:batchUpdate"])
@pytest.mark.parametrize("pg", [False, True], ids=["sqlite", "postgres"])
def test_a_google_refusal_naming_a_lone_surrogate_is_recorded(
    world: World, pg_url: str, pg: bool, where: str
) -> None:
    """Before: `UnicodeEncodeError` out of `once` while the cycle's error was saved."""
    world.sheet([HEADER, ["https://a", "A"]])
    world.config({"mode": "row"}, **state(pg, pg_url))
    body = {"error": {"code": 400, "message": "bad \ud800", "status": "INVALID_ARGUMENT"}}
    world.google.add_fault(path=where, status=400, body=body, count=1)
    world.once()
    assert "bad \ufffd" in world.runtime().journal.last_cycle("w0").error
    world.close_runtime()


PIECES = {
    "one character each": lambda t, i: list(t),
    "three pieces": lambda t, i: [t[: i + 1], t[i + 1 : i + 2], t[i + 2 :]],
    "an empty piece between": lambda t, i: [t[: i + 2], "", t[i + 2 :]],
}


@pytest.mark.parametrize("cut", PIECES)
@pytest.mark.parametrize("escape", ["\\ud800", "\\uD800", "\\u0000"])
def test_an_escape_spread_over_several_pieces_is_mended(cut: str, escape: str) -> None:
    rows = [["plain"]] * 3 + [["a\ud800"]]
    text = json.dumps({"valueRanges": [{"values": rows}]}).replace("\\ud800", escape)
    pieces = PIECES[cut](text, text.index(escape))
    assert value_ranges(iter(pieces), 1, lambda _i, r: list(r))[0][-1] == ["a\ufffd"]


def test_a_drive_page_token_with_a_lone_surrogate_does_not_wedge_the_feed(world: World) -> None:
    """Before: stored as it came, every later look failed to encode it until a restart."""
    world.sheet([HEADER, ["https://a", "A"]])
    world.config(google={"change_detection": "drive"})
    feed = ChangeFeed(world.runtime().sheets.identity(world.spreadsheet_id).sheets)
    feed.look()
    body = {"changes": [], "newStartPageToken": "t\ud800"}
    world.google.add_fault(path=r"/drive/v3/changes$", status=200, count=1, body=body)
    feed.look()
    assert feed.token == "t\ufffd"
    for _ in range(3):
        feed.look()
