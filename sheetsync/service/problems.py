"""Problems a person must act on: logged once when they begin, once when they clear.

A problem is a cycle that failed for a reason (a missing tab, no permission, bad
credentials, Google's quota) or rows of a watch `waiting` for an account-level reason
(the key rejected, axiom's quota, axiom down). After every cycle `current_problems`
derives a watch's problems from its report and the journal (pure); `Problems.update`
compares them with those still open and says which began and which cleared, so that
`journalctl -p warning` shows each problem once, with what to do, not every cycle (a
different text under the same key, say a second header mistake, is a different problem).
`summary()` names the open ones for systemd's STATUS= line.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sheetsync.adapters.axiom.answers import WAITING_PREFIX
from sheetsync.adapters.axiom.outage import PROBE_MAX_SECONDS, PROBE_SECONDS
from sheetsync.core.plan import QUOTA_WAIT_SECONDS
from sheetsync.core.report import CycleReport
from sheetsync.service.notify import stamp

log = logging.getLogger("sheetsync.problems")

ADVICE: dict[str, str] = {
    "missing_tab": "fix `worksheet` in the config (`sheetsync check` lists the tabs), then reload",
    "not_found": "fix `spreadsheet` in the config, then reload",
    "permission": "share the spreadsheet with the service account as Editor",
    "auth": "check google.service_account_file (the key may have been deleted in Google Cloud)",
    "quota": "Google's per-minute quota is used up: lower reads_per_minute/writes_per_minute, "
    "or watch less often",
    "header": "fix the header row of the tab (or the column names in the config)",
    "unreachable": "check this machine's network and google.api_base_url",
    "journal": "check the state file and its disk",
}
"""What to do about a failed cycle, by `CycleReport.error_reason` (Google's side mostly)."""

WAITING_ADVICE: dict[str, str] = {
    "invalid_key": "put the current key from axiom's dashboard (API) where [axiom] reads it, "
    "then reload; the rows are sent by themselves",
    "quota": "raise the plan in axiom's dashboard or wait for the next billing period; "
    f"sheetsync asks /remaining-runtime every {QUOTA_WAIT_SECONDS / 60:g} minutes and sends "
    "the rows by itself once minutes are left",
    "rate_limit": "another client uses this key, or calls_per_minute is above axiom's limit",
    "server": "axiom is down or busy; the rows are sent by themselves when it answers",
    "connection": "check this machine's network and axiom.base_url",
    "outage": f"sheetsync asks /list-automations (it starts nothing) after {PROBE_SECONDS:g} s, "
    f"then less often, up to every {PROBE_MAX_SECONDS / 60:g} minutes, and sends the rows by "
    "itself once axiom answers; check the `unknown` row in axiom's run history before typing "
    "retry in its status cell",
    "stopped": "nothing to do: they go at the next start",
}
"""What to do about rows `waiting`, by their wait reason (axiom's side): kept apart from
`ADVICE`, since the same word (quota) means Google's quota there and axiom's here."""

WAITING_TEXT = {
    **WAITING_PREFIX,
    "connection": "axiom cannot be reached",
    "outage": "axiom is down or answered a trigger unclearly (held until it answers again)",
    "stopped": "rows not sent: sheetsync stopped before sending them",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a watch: `key` identifies it while it lasts."""

    watch: str
    key: str
    text: str
    advice: str = ""
    rows: int = 0
    """Rows waiting because of it (waiting problems)."""


def current_problems(report: CycleReport, waiting: Mapping[str, int]) -> list[Problem]:
    """A watch's problems after a cycle: its failure, and its rows waiting by reason."""
    found = []
    if report.error is not None:
        reason = report.error_reason or "sheet"
        found.append(Problem(report.watch, f"error:{reason}", report.error, ADVICE.get(reason, "")))
    for reason, rows in sorted(waiting.items()):
        if rows:
            text = WAITING_TEXT.get(reason, f"rows waiting ({reason or 'unknown reason'})")
            advice = WAITING_ADVICE.get(reason, "")
            found.append(Problem(report.watch, f"waiting:{reason}", text, advice, rows))
    return found


@dataclass
class Problems:
    """The problems open in this process, per watch, with when each began."""

    _open: dict[str, dict[str, tuple[Problem, datetime]]] = field(default_factory=dict)
    _attention: dict[str, int] = field(default_factory=dict)
    """Rows per watch that ended `error` or `unknown` (for STATUS=; each row warned once)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, watch: str, problems: list[Problem], now: datetime) -> None:
        """Record a watch's current problems; log the ones that began and the ones that
        cleared. A new text under the same key (header A fixed, header B broken; a 500
        become a 400) is a new problem: the old one cleared, the new one began."""
        began: list[Problem] = []
        cleared: list[Problem] = []
        with self._lock:
            before = self._open.get(watch, {})
            after: dict[str, tuple[Problem, datetime]] = {}
            for problem in problems:
                old = before.get(problem.key)
                if old is not None and _same(old[0], problem):
                    after[problem.key] = (problem, old[1])
                    continue
                after[problem.key] = (problem, now)
                began.append(problem)
                if old is not None:
                    cleared.append(old[0])
            cleared += [p for key, (p, _) in before.items() if key not in after]
            self._open[watch] = after
        for problem in cleared:
            log.info("watch %s: resolved: %s", watch, problem.text)
        for problem in began:
            self._began(problem)
        for problem, _ in after.values():
            if problem not in began:
                log.debug("watch %s: still %s", watch, problem.text)

    def forget(self, keep: set[str]) -> None:
        """Drop the watches a reload removed."""
        with self._lock:
            self._open = {w: p for w, p in self._open.items() if w in keep}
            self._attention = {w: n for w, n in self._attention.items() if w in keep}

    def attend(self, watch: str, rows: int) -> None:
        """How many rows of `watch` are `error` or `unknown` now (the journal's count)."""
        with self._lock:
            self._attention[watch] = rows

    def attention(self) -> int:
        """Rows of every watch that need a person: STATUS= must not say "no errors" then."""
        with self._lock:
            return sum(self._attention.values())

    def summary(self, now: datetime) -> list[str]:
        """The open problems for STATUS=, newest first, e.g. `waiting: axiom rejected the
        API key since 10:02Z; 14 rows waiting`."""
        with self._lock:
            items = [item for probs in self._open.values() for item in probs.values()]
        items.sort(key=lambda item: item[1], reverse=True)
        lines = []
        for problem, since in items:
            kind = problem.key.split(":", 1)[0]
            line = f"{kind}: {problem.watch}: {problem.text} since {stamp(since, now, 'minutes')}"
            if problem.rows:
                line += f"; {problem.rows} row{'s' if problem.rows != 1 else ''} waiting"
            lines.append(line)
        return lines

    @staticmethod
    def _began(problem: Problem) -> None:
        advice = f"; {problem.advice}" if problem.advice else ""
        rows = f" ({problem.rows} row(s) waiting)" if problem.rows else ""
        level = logging.ERROR if problem.key.startswith("error:") else logging.WARNING
        log.log(level, "watch %s: %s%s%s", problem.watch, problem.text, rows, advice)


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
"""An object's address in a transport error's text (`<...Connection object at 0x7f...>`)."""


def _same(old: Problem, new: Problem) -> bool:
    """Whether two problems under one key are the same (their text; addresses aside)."""
    return _ADDRESS.sub("", old.text) == _ADDRESS.sub("", new.text)
