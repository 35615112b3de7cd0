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
import select
import signal
import socket
from collections.abc import Iterator
from types import FrameType


class SignalFlags:
    """SIGTERM/SIGINT ask for a warm stop (a second one exits now); SIGHUP asks for a reload."""

    def __init__(self) -> None:
        self.stops = 0
        self.stop_signal = signal.SIGTERM
        self.reloads = 0
        self._reloads_done = 0
        self._cold_line = b""
        self._wake: socket.socket | None = None
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

    @contextlib.contextmanager
    def serving(self, prefix: str) -> Iterator[None]:
        """Route the signals here and wake `nap` on each one, until the block ends (then
        the old handlers are back). Call it on the main thread.

        `prefix` is the journald priority prefix for the one line a second signal prints.
        """
        wake, waker = socket.socketpair()
        wake.setblocking(False)
        waker.setblocking(False)
        self._wake, self._waker = wake, waker
        self._cold_line = (
            f"{prefix}sheetsync.daemon: second stop signal: exiting at once without finishing "
            "the cycle in progress (the journal keeps its rows safe)\n"
        ).encode()
        signal.set_wakeup_fd(waker.fileno(), warn_on_full_buffer=False)
        previous = {
            signum: signal.signal(signum, self.on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        try:
            yield
        finally:
            for signum, handler in previous.items():
                if handler is not None:  # None: installed outside Python, cannot be put back
                    signal.signal(signum, handler)
            signal.set_wakeup_fd(-1)
            self._wake = self._waker = None
            wake.close()
            waker.close()

    def nap(self, seconds: float) -> None:
        """Sleep until `seconds` pass or something wakes the loop (a signal, `wake`).

        It waits in `select` on the wake-up fd, which every signal writes to whichever
        thread the kernel hands it to: a thread join instead would sit through a signal
        taken by another thread (CPython issue 85300).
        """
        wake = self._wake
        if wake is None:
            raise RuntimeError("nap() outside serving()")
        select.select([wake], [], [], seconds)
        with contextlib.suppress(BlockingIOError):
            while wake.recv(512):
                pass
