"""Where the engine and the adapters report what they did, for the optional metrics.

The adapters call `current()` and its hooks; without `[metrics]` that is this module's
`Telemetry`, whose hooks do nothing, so the daemon neither imports prometheus_client nor
keeps a single sample. `sheetsync.service.metrics` installs a recording one.
"""

from __future__ import annotations

from sheetsync.core.report import CycleReport


class Telemetry:
    """The hooks, as no-ops: what every process has until metrics are switched on."""

    def request(self, service: str, kind: str, status: str) -> None:
        """One HTTP request to `service` (`sheets`, `axiom`) of `kind` ended with `status`."""

    def paced(self, service: str, seconds: float) -> None:
        """A request to `service` waited `seconds` for its pace slot."""

    def outcome(self, watch: str, state: str, rows: int) -> None:
        """`rows` rows of `watch` ended a trigger as `state` (triggered, error, waiting...),
        sent or held back unsent."""

    def trigger(self, watch: str, result: str) -> None:
        """One POST /trigger of `watch` got its answer: the trigger's outcome state, or
        `retried` (axiom did not take it, and it is sent again)."""

    def cycle(self, report: CycleReport, at: float) -> None:
        """A cycle ended at Unix time `at`; `report.error` is None when it succeeded."""


_current = Telemetry()


def current() -> Telemetry:
    """The telemetry in force in this process."""
    return _current


def install(telemetry: Telemetry) -> Telemetry:
    """Make `telemetry` the one in force; return the previous one (to put back)."""
    global _current
    previous, _current = _current, telemetry
    return previous
