"""Text an answer can carry that nothing downstream can take: a lone surrogate (`\\ud800`
in JSON). Decoded, it is a `str` no store, hash or log line can encode; each becomes
U+FFFD as the answer is decoded (`core/text.py`), in a cell or in axiom's answer, and
the cycle goes on (before: `UnicodeEncodeError` out of `once`, every cycle)."""

from __future__ import annotations

import json
import random

import pytest

from sheetsync.adapters.google.lean import value_ranges
from sheetsync.core.text import mended
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
