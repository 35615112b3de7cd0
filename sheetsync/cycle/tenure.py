"""The lease a cycle runs under: checked before each of its side effects outside the store.

A spreadsheet's cycle starts under the epoch this instance holds it at. The sheet and
axiom cannot check a fencing token, so before write 1, each POST and each later write
the cycle asks whether the unit is still held at that epoch and locally trusted
(`Store.trusted`, no I/O); if not, `LeaseLostError` ends the cycle: its new holder goes
on. SQLite holds every unit for as long as the process runs, so the check always passes.
"""

from __future__ import annotations

from sheetsync.adapters.store.protocol import Store
from sheetsync.errors import LeaseLostError


class Tenure:
    """One cycle's hold on its spreadsheet (`unit`), fixed at the cycle's start."""

    def __init__(self, store: Store, unit: str) -> None:
        self.store = store
        self.unit = unit
        self.epoch = store.held().get(unit)
        """The epoch the cycle started under; None: this instance does not serve the unit."""

    def check(self) -> None:
        """Raise `LeaseLostError` unless the unit is still ours, at the cycle's epoch, and
        surely so (a renewal within the lease, less its margin)."""
        epoch = self.epoch
        if epoch is None or self.store.held().get(self.unit) != epoch:
            raise LeaseLostError(self.unit, epoch or 0)
        if not self.store.trusted(self.unit):
            raise LeaseLostError(self.unit, epoch)
