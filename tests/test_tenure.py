"""A cycle's hold on its spreadsheet: checked before every side effect outside the store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import pytest

from sheetsync.adapters.store.protocol import Store
from sheetsync.cycle.tenure import Tenure
from sheetsync.errors import LeaseLostError


class Leases:
    """What `Tenure` asks a store: the units held, at which epoch, and whether trusted."""

    def __init__(self) -> None:
        self.epochs: dict[str, int] = {"S1": 4}
        self.trust = True

    def held(self) -> Mapping[str, int]:
        return dict(self.epochs)

    def trusted(self, unit: str) -> bool:
        return self.trust and unit in self.epochs


def test_a_cycle_goes_on_only_under_the_epoch_it_started_with_while_trusted() -> None:
    """Held and trusted: the check passes. Trust run out (a renewal late, a suspend), the
    unit lost, or lost and taken again at a new epoch: the check raises, naming it."""
    leases = Leases()
    tenure = Tenure(cast(Store, leases), "S1")
    tenure.check()
    leases.trust = False
    with pytest.raises(LeaseLostError, match="spreadsheet S1: lease epoch 4"):
        tenure.check()
    leases.trust = True
    leases.epochs["S1"] = 5  # lost and taken again meanwhile: not this cycle's lease
    with pytest.raises(LeaseLostError):
        tenure.check()
    del leases.epochs["S1"]
    with pytest.raises(LeaseLostError):
        tenure.check()
    with pytest.raises(LeaseLostError):  # a unit this instance never held
        Tenure(cast(Store, leases), "S2").check()
