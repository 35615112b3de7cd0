"""What an axiom answer means and when to retry: pure decisions, testable without a network."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from sheetsync.core.backoff import Backoff
from sheetsync.core.text import may_need_mending, mended
from sheetsync.redact import one_line

BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
MAX_RETRY_AFTER = 60.0
"""A longer Retry-After ends the retries at once: the row waits instead of the daemon."""
RETRY = Backoff(BACKOFF_BASE, BACKOFF_CAP, 0.5, 0.5, MAX_RETRY_AFTER, give_up=True)
"""Retries of one axiom call: 0.5-1 s doubling to 15-30 s; Retry-After up to a minute."""
SNIPPET_CHARS = 200
MESSAGE_CHARS = 1000
MAX_BODY_BYTES = 1024 * 1024
"""At most this much of an answer is read: axiom's answers are a few hundred bytes."""
MAX_LINK_CHARS = 2048
"""A viewer link is about 120 characters; a longer one is not a link sheetsync stores."""

Status = Literal["triggered", "queued", "error", "waiting", "unknown"]
Reason = Literal[
    "", "invalid_key", "quota", "rate_limit", "server", "connection",  # waiting: not taken
    "outage", "stopped",  # waiting: never sent (the key's gate is closed; sheetsync stopped)
    "gateway", "unreadable", "no_answer",  # unknown: the trigger left, its fate is unclear
]  # fmt: skip
RunState = Literal["running", "success", "failure"]

LINK_KEY = "OPEN LINK IN BROWSER"
UNKNOWN_ADVICE = (
    "axiom may or may not have started the run. Check the automation's run history in "
    "axiom before typing retry in the status cell."
)
RUN_STATES: dict[str, RunState] = {
    "running": "running",
    "queued": "running",
    "success": "success",
    "finished": "success",
    "failure": "failure",
}
WAITING_PREFIX: dict[str, str] = {
    "invalid_key": "axiom rejected the API key",
    "quota": "axiom quota exceeded (the runtime allowance of this billing period is used up)",
    "rate_limit": "axiom rate limit reached",
    "server": "axiom is busy",
    "gateway": "axiom is unavailable",
}


@dataclass(frozen=True)
class TriggerOutcome:
    """What one /trigger call came to, in the product's status vocabulary."""

    status: Status
    link: str = ""
    message: str = ""
    http_status: int | None = None
    reason: Reason = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class RunStatus:
    """The latest run of an automation as /run-data reports it."""

    state: RunState
    raw_status: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, reduced to what classification needs."""

    http_status: int
    content_type: str
    text: str
    retry_after: float | None = None
    location: str = ""
    truncated: bool = False
    """The body was longer than `MAX_BODY_BYTES`: `text` is its start, which is unreadable."""


@dataclass(frozen=True)
class Failure:
    """No answer: `sent` says whether the request may have reached axiom."""

    sent: bool
    cause: str


Kind = Literal[
    "link", "queued", "ok", "refused", "account", "transient", "gateway", "redirect", "malformed"
]
"""`transient`: not taken, safe to resend (429, axiom's own JSON 503). `gateway`: any other
5xx, which may come from a proxy that passed the request on: resending is safe for reads
only. `malformed`: no documented shape (a 2xx of that kind may still mean a run started)."""


@dataclass(frozen=True)
class Verdict:
    """The classification of one answer; `body` is the parsed JSON object for `ok`."""

    kind: Kind
    message: str = ""
    reason: Reason = ""
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Heard:
    """An answer together with what it means."""

    answer: Answer
    verdict: Verdict


def _parse(answer: Answer) -> tuple[dict[str, Any] | None, str]:
    """The JSON object of the body (if any) and axiom's message (JSON field or short plain text)."""
    if answer.truncated:
        return None, ""
    text = answer.text.strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if may_need_mending(text):
        body = mended(body)
    if isinstance(body, dict):
        message = body.get("message")
        return body, message.strip() if isinstance(message, str) else ""
    if isinstance(body, str):  # a JSON-encoded string, e.g. "Invalid key"
        text, body = body.strip(), None
    plain = body is None and text and "<" not in text and len(text) <= MESSAGE_CHARS
    return None, one_line(text, MESSAGE_CHARS) if plain else ""


def sane_link(value: object) -> bool:
    """Whether a viewer link is an http(s) URL of sane length, on one line, with a host."""
    if not isinstance(value, str) or not 0 < len(value.strip()) <= MAX_LINK_CHARS:
        return False
    link = value.strip()
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in link):
        return False
    try:
        split = urlsplit(link)
    except ValueError:
        return False
    return split.scheme in ("http", "https") and bool(split.hostname)


def unexpected(answer: Answer) -> str:
    """The message for an answer that is none of the documented shapes."""
    snippet = one_line(answer.text[: SNIPPET_CHARS * 4], SNIPPET_CHARS) or "(empty body)"
    if answer.truncated:
        snippet = f"more than {MAX_BODY_BYTES // 1024} KiB, starting {snippet}"
    return (
        f"axiom returned an unexpected answer "
        f"(HTTP {answer.http_status}, {answer.content_type}): {snippet}"
    )


def _by_message(message: str) -> Verdict | None:
    low = message.lower()
    if "invalid key" in low or "unable to authenticate" in low:
        return Verdict("account", message, "invalid_key")
    if "quota exceeded" in low:
        return Verdict("account", message, "quota")
    if "rate limit" in low:
        return Verdict("transient", message, "rate_limit")
    return None


def classify(answer: Answer) -> Verdict:  # noqa: PLR0911 - a decision table reads best flat
    """Decide what an answer means: HTTP status first, then the documented body shapes."""
    status = answer.http_status
    if 300 <= status < 400:
        target = one_line(answer.location, SNIPPET_CHARS) or "no Location given"
        return Verdict(
            "redirect",
            f"axiom answered with a redirect (HTTP {status} to {target}); sheetsync never "
            "follows redirects, so the key was not sent there: check axiom.base_url",
        )
    body, message = _parse(answer)
    # an answer that says a run exists wins over everything else: resending would start another
    if body is not None and sane_link(body.get(LINK_KEY)):
        return Verdict("link", body[LINK_KEY].strip())
    if body is not None and body.get("status") == "queued":
        return Verdict("queued", message or "axiom queued the run")
    # account-level words beat the status code: deployments disagree on which code goes with them
    if message and status < 500 and (by_message := _by_message(message)) is not None:
        return by_message
    fixed: dict[int, Verdict] = {
        401: Verdict("account", message or "Invalid key", "invalid_key"),
        403: Verdict("account", message or "Quota exceeded", "quota"),
        429: Verdict("transient", message or "too many calls", "rate_limit"),
    }
    if status in fixed:
        return fixed[status]
    if status == 503 and body is not None and body.get("status") == "error":
        # axiom's own refusal while busy: nothing started, its docs say retry with backoff
        return Verdict("transient", message or "the service is busy", "server")
    if status >= 500:
        return Verdict("gateway", _gateway(answer, message), "gateway")
    if status in (400, 404):
        return Verdict("refused", message) if message else Verdict("malformed", unexpected(answer))
    if 200 <= status < 300:
        if body is not None and body.get("status") == "error" and message:
            return Verdict("refused", message)
        if body is not None and LINK_KEY in body:
            link = one_line(str(body[LINK_KEY])[: SNIPPET_CHARS * 4], SNIPPET_CHARS)
            return Verdict(
                "malformed",
                f"axiom's answer (HTTP {status}) holds a viewer link that is not an http(s) URL "
                f"of at most {MAX_LINK_CHARS} characters: {link or '(empty)'}",
                "unreadable",
            )
        if body is not None and body.get("status") != "error":
            return Verdict("ok", body=body)
        return Verdict("malformed", unexpected(answer), "unreadable")
    return Verdict("refused", message) if message else Verdict("malformed", unexpected(answer))


def _gateway(answer: Answer, message: str) -> str:
    """What a 5xx other than axiom's own busy answer says, for a message."""
    if message:
        return message
    if answer.text.strip():
        return unexpected(answer)
    return f"HTTP {answer.http_status} with an empty body"


def trigger_status(verdict: Verdict, http_status: int) -> tuple[Status, Reason]:
    """What an answer to /trigger means for its rows: the status and, if any, the reason.

    Only answers that prove nothing started are `waiting` (resent later by sheetsync);
    any answer that may follow a started run without saying so is `unknown`.
    """
    if verdict.kind == "link":
        return "triggered", ""
    if verdict.kind == "queued":
        return "queued", ""
    if verdict.kind in ("account", "transient"):
        return "waiting", verdict.reason
    if verdict.kind == "gateway":
        return "unknown", "gateway"
    if verdict.kind in ("ok", "malformed") and 200 <= http_status < 300:
        return "unknown", "unreadable"
    return "error", ""
