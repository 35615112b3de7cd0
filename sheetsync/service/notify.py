"""Talking to systemd: a dependency-free sd_notify client and the decisions behind what it says.

    Notifier     sends READY=1, WATCHDOG=1, STATUS=, STOPPING=1, RELOADING=1 to $NOTIFY_SOCKET;
                 a no-op when the variable is unset (foreground runs, tests); never raises
    Heartbeat    PURE (state + injected `now`): may WATCHDOG=1 be sent now? Only while no
                 running cycle has gone without a sign of life for longer than the stall
                 limit, so a hung cycle stops the pings and systemd's watchdog
                 (WatchdogSec=) restarts the service, while a long but busy one does not
    StatusLine   accumulates cycle outcomes into the one-line STATUS= summary

The daemon sends READY=1 once the config is loaded and the first cycles are scheduled;
pings from its main loop every `watchdog_interval()` seconds while nothing is `stalled(now)`;
sends STATUS= when the summary changes; RELOADING=1 then READY=1 around a SIGHUP reload
(whether or not the new config was accepted); STOPPING=1 on the first SIGTERM.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sheetsync.redact import one_line, redact

log = logging.getLogger("sheetsync.notify")

NOTIFY_TIMEOUT = 1.0
"""Seconds a notification may block when systemd's socket buffer is full; then it is dropped."""

DEFAULT_STALL_LIMIT = 120.0
"""Seconds without a sign of life after which a running cycle counts as hung, when no
watchdog is configured (under one, the daemon uses half of WatchdogSec=). Every network
call has a timeout far below this, so only a genuinely stuck cycle gets here."""

MAX_STATUS_CHARS = 240
"""STATUS= is shown by `systemctl status` on one line; longer text is cut."""

MAX_ERROR_CHARS = 120
"""How much of the last error the STATUS= summary quotes."""


def _one_line(text: str, limit: int) -> str:
    """Text safe to put in a notification field: redacted, without newlines, bounded."""
    return one_line(redact(text), limit)


class Notifier:
    """Sends sd_notify datagrams to systemd's notification socket."""

    def __init__(
        self,
        address: str | None = None,
        *,
        watchdog_usec: int | None = None,
        timeout: float = NOTIFY_TIMEOUT,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        """`address` is $NOTIFY_SOCKET: an absolute path, or `@name` for the abstract namespace."""
        self.address = address
        self._target: str | bytes | None = None
        if address and address.startswith("@"):
            self._target = b"\0" + address[1:].encode()
        elif address and address.startswith("/"):
            self._target = address
        elif address:
            log.debug("NOTIFY_SOCKET=%r is not a supported address; notifications are off", address)
        self._watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self._timeout = timeout
        self._monotonic_ns = monotonic_ns
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._reported_failure = False

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] = os.environ, *, pid: int | None = None
    ) -> Notifier:
        """The notifier the environment asks for (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID)."""
        usec: int | None = None
        raw_usec = environ.get("WATCHDOG_USEC", "")
        watchdog_pid = environ.get("WATCHDOG_PID", "")
        own_pid = os.getpid() if pid is None else pid
        if raw_usec.isdigit() and (not watchdog_pid or watchdog_pid == str(own_pid)):
            usec = int(raw_usec)
        return cls(environ.get("NOTIFY_SOCKET") or None, watchdog_usec=usec)

    @property
    def enabled(self) -> bool:
        """Whether notifications go anywhere."""
        return self._target is not None

    def watchdog_interval(self) -> float | None:
        """Seconds between WATCHDOG=1 pings (half of WatchdogSec=); None without a watchdog."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 2_000_000

    def ready(self, status: str | None = None) -> bool:
        """READY=1: startup (or a reload) is complete."""
        return self.send("READY=1", *self._status_field(status))

    def watchdog(self) -> bool:
        """WATCHDOG=1: the service is alive and making progress."""
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """STATUS=<one line>, shown by `systemctl status`; newlines and secrets are removed."""
        return self.send(*self._status_field(text))

    def stopping(self, status: str | None = None) -> bool:
        """STOPPING=1: shutdown has begun."""
        return self.send("STOPPING=1", *self._status_field(status))

    def reloading(self, status: str | None = None) -> bool:
        """RELOADING=1 with MONOTONIC_USEC= (as systemd >= 253 wants); follow it with ready()."""
        usec = f"MONOTONIC_USEC={self._monotonic_ns() // 1000}"
        return self.send("RELOADING=1", usec, *self._status_field(status))

    def send(self, *fields: str) -> bool:
        """Send `KEY=value` fields as one datagram; False when off or when sending failed."""
        if self._target is None or not fields:
            return False
        payload = "\n".join(fields).encode("utf-8")
        try:
            with self._lock:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    self._sock.settimeout(self._timeout)
                self._sock.sendto(payload, self._target)
        except OSError as exc:
            if not self._reported_failure:
                self._reported_failure = True
                log.debug("sd_notify to %s failed (reported once): %s", self.address, exc)
            return False
        return True

    def close(self) -> None:
        """Release the socket; later sends open a new one."""
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    @staticmethod
    def _status_field(text: str | None) -> tuple[str, ...]:
        return () if text is None else (f"STATUS={_one_line(text, MAX_STATUS_CHARS)}",)


def stall_limit(notifier: Notifier) -> float:
    """Seconds a running cycle may go without a sign of life before the pings stop.

    Half of WatchdogSec= under a watchdog, so a hung cycle stops the pings within half of
    it and systemd's watchdog fires at most WatchdogSec= later; the shipped 120 s gives
    60 s, above every default network timeout. Without a watchdog: `DEFAULT_STALL_LIMIT`
    (only the log line depends on it then).
    """
    interval = notifier.watchdog_interval()
    return DEFAULT_STALL_LIMIT if interval is None else interval


@dataclass
class Heartbeat:
    """Decides whether WATCHDOG=1 may be sent: not while a cycle has shown no life for too long.

    A cycle shows life when it starts and whenever `alive()` is called for it (the daemon
    calls it as a cycle paces a request, waits on purpose or finishes a trigger). A deliberate
    wait may be announced ahead: `alive(key, now + seconds)` covers the wait until it ends.
    Measuring from the last sign of life rather than from the start means a backlog of
    hundreds of rows, sent at axiom's pace for many minutes, never looks hung.
    """

    stall_limit: float = DEFAULT_STALL_LIMIT
    _running: dict[str, list[float]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def cycle_started(self, watch: str, now: float) -> None:
        """A cycle of `watch` (a watch or a job's key) began at monotonic time `now`."""
        with self._lock:
            self._running.setdefault(watch, []).append(now)

    def alive(self, watch: str, now: float) -> None:
        """The running cycle of `watch` made progress at `now` (no-op when none is running)."""
        with self._lock:
            lives = self._running.get(watch)
            if lives:
                lives[:] = [max(life, now) for life in lives]

    def cycle_finished(self, watch: str, now: float) -> None:
        """The oldest running cycle of `watch` ended (however it ended)."""
        del now  # part of the interface so callers stamp both ends alike
        with self._lock:
            lives = self._running.get(watch)
            if lives:
                lives.pop(0)
                if not lives:
                    del self._running[watch]

    def stalled(self, now: float) -> list[str]:
        """The watches whose running cycle showed no life for more than `stall_limit` seconds."""
        with self._lock:
            return sorted(
                watch for watch, lives in self._running.items() if now - lives[0] > self.stall_limit
            )


@dataclass
class StatusLine:
    """The STATUS= summary: watches, last cycle, rows triggered today, last standing error."""

    watches: int = 0
    _last_cycle: datetime | None = field(default=None, init=False)
    _day: date | None = field(default=None, init=False)
    _triggered: int = field(default=0, init=False)
    _errors: dict[str, tuple[datetime, str]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def record_cycle(
        self, watch: str, now: datetime, *, triggered: int = 0, error: str | None = None
    ) -> None:
        """Count one finished cycle; an error replaces the watch's last one, success clears it."""
        with self._lock:
            if self._day != now.date():
                self._day, self._triggered = now.date(), 0
            self._triggered += triggered
            if self._last_cycle is None or now > self._last_cycle:
                self._last_cycle = now
            if error:
                self._errors[watch] = (now, error)
            else:
                self._errors.pop(watch, None)

    def seed(self, day: date, triggered: int) -> None:
        """Start today's count where the journal says it stands (it survives restarts)."""
        with self._lock:
            if self._day is None or self._day == day:
                self._day, self._triggered = day, self._triggered + triggered

    def render(
        self,
        now: datetime,
        problems: Sequence[str] = (),
        attention: int = 0,
        share: tuple[int, int] | None = None,
    ) -> str:
        """One line, e.g. `2 watches; last cycle 10:00:05Z; 12 rows triggered today; no errors`;
        the open `problems` (newest first, see `sheetsync.service.problems`) replace `no errors`,
        and so do rows that need a person (`attention`: rows `error` or `unknown`). `share`
        (PostgreSQL: spreadsheets held here, configured) adds `serving 3 of 5 spreadsheets`."""
        with self._lock:
            parts = [_count(self.watches, "watch", "watches")]
            if share is not None:
                parts.append(
                    f"serving {share[0]} of {_count(share[1], 'spreadsheet', 'spreadsheets')}"
                )
            if self._last_cycle is None:
                parts.append("no cycle yet")
            else:
                parts.append(f"last cycle {stamp(self._last_cycle, now)}")
            today = self._triggered if self._day == now.date() else 0
            parts.append(f"{_count(today, 'row', 'rows')} triggered today")
            if attention:
                need = "needs" if attention == 1 else "need"
                parts.append(f"{_count(attention, 'row', 'rows')} {need} a person (error/unknown)")
            if problems:
                others = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
                parts.append(f"{problems[0]}{others}")
            elif self._errors:
                watch, (_, text) = max(self._errors.items(), key=lambda item: item[1][0])
                more = len(self._errors) - 1
                tail = f" (+{more} more)" if more else ""
                parts.append(f"last error: {watch}: {_one_line(text, MAX_ERROR_CHARS)}{tail}")
            elif not attention:
                parts.append("no errors")
        return _one_line("; ".join(parts), MAX_STATUS_CHARS)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def stamp(moment: datetime, now: datetime, timespec: str = "seconds") -> str:
    """For STATUS=: the time alone when it is today, else date and time; UTC is `Z`."""
    text = moment.isoformat(timespec=timespec).replace("+00:00", "Z")
    return text.split("T", 1)[1] if moment.date() == now.date() else text
