"""PURE: which units one acquisition round takes, gives up, or refuses (fair spreading)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LeaseRow:
    """A unit's lease as the database shows it at the start of a round."""

    unit: str
    holder: str
    epoch: int
    free: bool
    """Released, or expired by the database clock."""
    config_hash: str


@dataclass(frozen=True)
class Round:
    """What a round does: take free units, shed excess ones, refuse conflicting ones."""

    take: list[str] = field(default_factory=list)
    shed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def fair_share(units: int, live: int) -> int:
    """Units per instance so that every unit has a holder: ceil(units / live instances)."""
    return math.ceil(units / max(1, live))


def plan_round(
    rows: Sequence[LeaseRow],
    hashes: Mapping[str, str],
    holder: str,
    held: Sequence[str],
    live: int,
    order: Callable[[str], float],
) -> Round:
    """One round's decision. `order` ranks free units (random per instance, so peers
    starting together try different units first); `held` are the units we serve."""
    by_unit = {r.unit: r for r in rows}
    share = fair_share(len(hashes), live)
    refused = sorted(
        u
        for u, r in by_unit.items()
        if u in hashes and not r.free and r.holder != holder and r.config_hash != hashes[u]
    )
    free = [u for u in hashes if u not in held and (u not in by_unit or by_unit[u].free)]
    room = max(0, share - len(held))
    take = sorted(free, key=order)[:room]
    shed = sorted(held)[share:] if len(held) > share else []
    return Round(take, shed, refused)
