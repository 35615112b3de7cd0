"""What one cycle of one watch did: the one INFO line, `once`'s verdict and STATUS=."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CycleReport:
    """What one cycle of one watch did, for logs, `once` and STATUS=."""

    watch: str
    seen: int = 0
    new: int = 0
    triggered: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    written: int = 0
    missing: int = 0
    skipped: int = 0
    polled: int = 0
    settling: int = 0
    held: int = 0
    paused: int = 0
    """Rows not claimed: the axiom key's outage gate is closed (see `outage`)."""
    seconds: float = 0.0
    error: str | None = None
    error_reason: str = ""
    """Why the cycle failed, as data (`SheetError.reason`, or `journal`)."""
    lost: bool = False
    """The spreadsheet's lease was lost (a fleet): the cycle stopped, its new holder goes on."""

    def fail(self, text: str, reason: str) -> None:
        """Keep the first failure of the cycle: its text and its reason."""
        if self.error is None:
            self.error, self.error_reason = text, reason

    def line(self) -> str:
        """The one INFO line per cycle."""
        parts = [
            f"watch {self.watch}: {self.seen} rows seen, {self.new} new, {self.triggered} triggered"
        ]
        parts += [f"{n} {s}" for s, n in sorted(self.outcomes.items()) if s != "triggered"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (start_from = now)")
        if self.missing:
            parts.append(f"{self.missing} deleted before their result was written")
        if self.polled:
            parts.append(f"{self.polled} run(s) polled")
        if self.settling:
            parts.append(f"{self.settling} settling (settle_seconds)")
        if self.held:
            parts.append(f"{self.held} waiting for a run to end (max_in_flight)")
        if self.paused:
            parts.append(f"{self.paused} held until axiom answers clearly again")
        if self.lost:
            parts.append("stopped: another instance now serves this spreadsheet")
        return ", ".join(parts) + f" in {self.seconds:.2f}s"
