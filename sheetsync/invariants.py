"""Test helper: the right-row invariants, checked on a sheet against what axiom received.

A race test plays a person on the Google emulator while sheetsync writes, and keeps a
`People` record of what the person typed. `violations` then says, row by row (rows are
known by their first input, a unique url in these tests), what broke:

- a row was triggered more often than once plus the retries the person typed, or at
  all when the person marked it handled;
- a row shows a result it did not produce: a link of another row's run, a result
  status, an `unknown` or a message although axiom never received the row;
- (`settled=True`) one id shows on two rows;
- a cell the person typed (an input, or a status such as "done by hand") is gone, unless
  the row says that sheetsync wrote onto it by mistake and cannot tell what it held
  (`strays.UNTOLD_MESSAGE`: after a kill lost a write's answer, or on a big tab whose
  row the read did not take whole; the person is asked to check the row);
- a row the person kept is missing from the sheet, or appears twice;
- (`settled=True`) a row the person left to sheetsync shows no final status.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sheetsync.core.strays import UNTOLD_MESSAGE
from sheetsync.emulator.axiom import AxiomEmulator

RESULT_HEADERS = frozenset({"Status", "Run link", "Message", "sheetsync id"})
RESULT_WORDS = frozenset({"triggered", "queued", "error"})
"""Statuses that only a trigger of the row itself can produce."""
FINAL_WORDS = frozenset({"triggered", "queued", "error", "unknown", "waiting"})


@dataclass
class People:
    """What people typed into a tab, row by row (a row is named by its url)."""

    cells: dict[str, dict[str, str]] = field(default_factory=dict)
    """url -> {header: value} of every cell a person typed in that row."""
    retries: Counter[str] = field(default_factory=Counter)
    deleted: set[str] = field(default_factory=set)

    def typed(self, url: str, **cells: str) -> None:
        """A person typed these cells (header names with `_` for spaces) into the row."""
        self.cells.setdefault(url, {"url": url}).update(
            {name.replace("_", " "): value for name, value in cells.items()}
        )

    def handed_over(self, url: str) -> bool:
        """Whether the row is sheetsync's to send: the person typed no status of their own."""
        return "Status" not in self.cells.get(url, {})


def sent_urls(axiom: AxiomEmulator) -> Counter[str]:
    """How often each url reached axiom in a trigger's `data` (header row first)."""
    return Counter(url for t in axiom.triggers for url in _urls(t.data))


def _urls(data: Any) -> Iterable[str]:
    rows = data[1:] if isinstance(data, list) else []
    return (row[0] for row in rows if isinstance(row, list) and row)


def trigger_violations(axiom: AxiomEmulator, people: People) -> list[str]:
    """What no later write can undo: a row triggered more often than once plus the retries
    typed, or at all when the person marked it handled (checked after every step; the
    sheet's cells may be wrong between a misplaced write and the write putting it back)."""
    found = []
    for url, count in sent_urls(axiom).items():
        if not people.handed_over(url):
            found.append(f"{url}: the person marked it handled, yet it was triggered")
        elif count > 1 + people.retries[url]:
            found.append(f"{url}: triggered {count} times, {people.retries[url]} retries typed")
    return found


def violations(
    values: Sequence[Sequence[str]],
    axiom: AxiomEmulator,
    people: People,
    *,
    settled: bool = False,
) -> list[str]:
    """Every broken invariant, one line each (empty: all hold)."""
    header = list(values[0]) if values else []
    rows = [
        dict(zip(header, [*row, *[""] * (len(header) - len(row))], strict=False))
        for row in values[1:]
        if any(str(c).strip() for c in row)
    ]
    sent = sent_urls(axiom)
    links = {run.link: set(_urls(run.data)) for run in axiom.runs}
    found = trigger_violations(axiom, people)
    seen = Counter(row.get("url", "") for row in rows)
    for url, times in seen.items():
        if url not in people.cells:
            found.append(f"{url!r}: a row nobody typed is on the sheet")
        elif times > 1:
            found.append(f"{url}: on the sheet {times} times")
    kept = {url for url in people.cells if url not in people.deleted}
    found += [f"{url}: the row is gone from the sheet" for url in sorted(kept - set(seen))]
    ids = Counter(row.get("sheetsync id", "") for row in rows)
    if settled:  # one id, one row (a mistaken write not put back yet may double one)
        found += [f"id {rid} is on {n} rows" for rid, n in ids.items() if rid and n > 1]
    for row in rows:
        found += _row_violations(row, people, sent, links, settled=settled)
    return found


def _row_violations(
    row: Mapping[str, str],
    people: People,
    sent: Counter[str],
    links: Mapping[str, set[str]],
    *,
    settled: bool,
) -> list[str]:
    url = row.get("url", "")
    typed = people.cells.get(url)
    if typed is None:
        return []
    untold = row.get("Message", "") == UNTOLD_MESSAGE
    found = [
        f"{url}: {name} typed {value!r}, the sheet shows {row.get(name, '')!r}"
        for name, value in typed.items()
        if row.get(name, "") != value and not (untold and name in RESULT_HEADERS)
    ]
    if not people.handed_over(url):
        return found
    status, link = row.get("Status", ""), row.get("Run link", "")
    if link and url not in links.get(link, set()):
        found.append(f"{url}: shows the link of another row's run ({link})")
    if status in RESULT_WORDS and not sent[url]:
        found.append(f"{url}: shows {status!r} but axiom never received it")
    if status == "unknown" and not untold and not sent[url]:
        found.append(f"{url}: shows 'unknown' (a trigger's unclear answer) but was never sent")
    if row.get("Message", "") and not (untold or sent[url] or status in {"skipped", "waiting"}):
        found.append(f"{url}: shows a message ({row['Message'][:40]!r}) but was never sent")
    if settled and status not in FINAL_WORDS:
        found.append(f"{url}: left with status {status!r}")
    return found
