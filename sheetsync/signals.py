"""Signal handling for the daemon: handlers that only count, and a wake-up for the loop.

A handler runs on the main thread between two bytecodes, so any lock it takes (the
scheduler's, or the one inside `threading.Event.set()`) may already be held by the code
it interrupted (cf. CPython issues 121649 and 126434). These handlers bump counters and
`signal.set_wakeup_fd` wakes the main loop, which does the work. The second stop signal
is the exception: it leaves at once, killed by that signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Callable, Mapping
from types import FrameType

SignalHandler = Callable[[int, FrameType | None], object] | int | None
"""What `signal.signal` returns."""


class SignalFlags:
    """SIGTERM/SIGINT ask for a warm stop (a second one exits now); SIGHUP asks for a reload."""

    def __init__(self) -> None:
        self.stops = 0
        self.stop_signal = signal.SIGTERM
        self.reloads = 0
        self._reloads_done = 0
        self._cold_line = b""
        self._waker: socket.socket | None = None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Only counters and async-signal-safe calls here; the main loop does the rest."""
        del frame
        if signum == signal.SIGHUP:
            self.reloads += 1
            return
        self.stops += 1
        if self.stops == 1:
            self.stop_signal = signal.Signals(signum)
            return
        # the second stop signal: leave now, the way the signal itself would have
        os.write(2, self._cold_line)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
        os._exit(128 + signum)  # not reached: the default action of the signal ends us

    def request_stop(self) -> None:
        """A warm stop asked from another thread (not from a handler)."""
        self.stops = max(self.stops, 1)
        self.wake()

    def wake(self) -> None:
        """Wake the main loop from another thread (not from a handler)."""
        waker = self._waker
        if waker is not None:
            with contextlib.suppress(OSError):  # the loop is gone, or a wake-up is pending
                waker.send(b"\0")

    def take_reload(self) -> bool:
        """Whether a SIGHUP arrived since the last call."""
        if self.reloads == self._reloads_done:
            return False
        self._reloads_done = self.reloads
        return True

    def reason(self) -> str:
        """`SIGTERM received`, or `stopping` for a stop asked in code."""
        return f"{self.stop_signal.name} received" if self.stops else "stopping"

    def install(self, waker: socket.socket, prefix: str) -> dict[int, SignalHandler]:
        """Route the signals here and wake the loop through `waker`; returns the old handlers.

        `prefix` is the journald priority prefix for the one line a second signal prints.
        """
        self._waker = waker
        self._cold_line = (
            f"{prefix}sheetsync.daemon: second stop signal: exiting at once without finishing "
            "the cycle in progress (the journal keeps its rows safe)\n"
        ).encode()
        signal.set_wakeup_fd(waker.fileno(), warn_on_full_buffer=False)
        return {
            signum: signal.signal(signum, self.on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }

    def restore(self, previous: Mapping[int, SignalHandler]) -> None:
        """Put back the handlers `install` replaced and stop the wake-ups."""
        for signum, handler in previous.items():
            if handler is not None:  # None: installed outside Python, cannot be put back
                signal.signal(signum, handler)
        signal.set_wakeup_fd(-1)
        self._waker = None
