"""`invariants.violations`: the right-row checks the race tests rely on, on small sheets."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from sheetsync.emulator.axiom import AxiomEmulator
from sheetsync.invariants import People, violations

HEADER = ["url", "Status", "Run link", "Message", "sheetsync id"]


def axiom(*sent: str) -> AxiomEmulator:
    """What axiom received: one trigger (and run, linked `L<url>`) per url."""
    triggers = [SimpleNamespace(data=[["url"], [url]]) for url in sent]
    runs = [SimpleNamespace(link=f"L{url}", data=[["url"], [url]]) for url in sent]
    return cast(AxiomEmulator, SimpleNamespace(triggers=triggers, runs=runs))


def people(*urls: str, **typed: Any) -> People:
    person = People()
    for url in urls:
        person.typed(url)
    for url, cells in typed.items():
        person.typed(url, **cells)
    return person


@pytest.mark.parametrize(
    ("rows", "sent", "person", "expected"),
    [
        ([], (), People(), []),  # an empty sheet breaks nothing
        ([["a", "triggered", "La", "", "r1"]], ("a",), people("a"), []),
        ([["a", "", "", "", ""]], ("a", "a"), people("a"),
         ["a: triggered 2 times, 0 retries typed"]),
        ([["a", "done", "", "", ""]], ("a",), people(a={"Status": "done"}),
         ["a: the person marked it handled, yet it was triggered"]),
        ([["a", "triggered", "Lb", "", "r1"], ["b", "triggered", "La", "", "r2"]], ("a", "b"),
         people("a", "b"), ["a: shows the link of another row's run (Lb)",
                            "b: shows the link of another row's run (La)"]),
        ([["a", "triggered", "", "", "r1"]], (), people("a"),
         ["a: shows 'triggered' but axiom never received it"]),
        ([], (), people("a"), ["a: the row is gone from the sheet"]),
        ([["a"], ["a"]], (), people("a"), ["a: on the sheet 2 times"]),
        ([["z"]], (), People(), ["'z': a row nobody typed is on the sheet"]),
        ([["a", "", "", "", ""]], (), people(a={"Message": "hi"}),
         ["a: Message typed 'hi', the sheet shows ''"]),
    ],
)  # fmt: skip
def test_violations(
    rows: list[list[str]], sent: tuple[str, ...], person: People, expected: list[str]
) -> None:
    """Each broken invariant is one line naming the row by its url."""
    assert violations([HEADER, *rows], axiom(*sent), person) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [("triggered", []), ("waiting", []), ("sending", ["a: left with status 'sending'"])],
)
def test_settled_rows_show_a_final_status(status: str, expected: list[str]) -> None:
    """Once settled, a row handed to sheetsync shows a final status."""
    rows = [HEADER, ["a", status, "", "", "r1"]]
    assert violations(rows, axiom("a"), people("a"), settled=True) == expected
