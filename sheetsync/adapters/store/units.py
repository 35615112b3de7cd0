"""Units of ownership: one per spreadsheet, derived alike by every instance from the config."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sheetsync.config import Watch
from sheetsync.config.schema import values


@dataclass(frozen=True)
class Units:
    """Which unit each watch belongs to, and a hash of each unit's watches."""

    of_watch: Mapping[str, str]
    """Watch name -> unit (its spreadsheet id)."""
    hashes: Mapping[str, str]
    """Unit -> hash of its watches' settings: instances that disagree are refused."""

    def watches(self, unit: str) -> list[str]:
        """The names of the watches of a unit."""
        return sorted(w for w, u in self.of_watch.items() if u == unit)

    @property
    def all(self) -> list[str]:
        """Every unit, sorted."""
        return sorted(self.hashes)


def units_of(watches: Iterable[Watch]) -> Units:
    """The units of a config's enabled watches."""
    by_unit: dict[str, list[Watch]] = {}
    for watch in watches:
        by_unit.setdefault(watch.spreadsheet_id, []).append(watch)
    hashes = {unit: config_hash(ws) for unit, ws in by_unit.items()}
    of_watch = {w.name: unit for unit, ws in by_unit.items() for w in ws}
    return Units(of_watch, hashes)


def config_hash(watches: Iterable[Watch]) -> str:
    """A short hash of watches' settings (order-free): equal configs give equal hashes."""
    settings = sorted((values(w) for w in watches), key=lambda v: str(v["name"]))
    text = json.dumps(settings, sort_keys=True, default=sorted)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plain_units(of_watch: Mapping[str, str]) -> Units:
    """Units from a bare watch -> unit map (tests, tools): the hash is the unit's watch list."""
    by_unit: dict[str, list[str]] = {}
    for watch, unit in of_watch.items():
        by_unit.setdefault(unit, []).append(watch)
    hashes = {
        u: hashlib.sha256(",".join(sorted(ws)).encode()).hexdigest()[:16]
        for u, ws in by_unit.items()
    }
    return Units(dict(of_watch), hashes)
