"""What one exchange with axiom came to: a trigger's `TriggerOutcome`, a read's `AxiomError`.

The axiom client makes the calls; this decides the row's status and writes its message.
An `unknown` outcome also names its doubt in a few words (`HTTP 504`, `no answer within
30 s`): the key's outage gate (see `outage`) closes with it.
"""

from __future__ import annotations

from collections.abc import Callable

from sheetsync.adapters.axiom.answers import (
    UNKNOWN_ADVICE,
    WAITING_PREFIX,
    Failure,
    Heard,
    TriggerOutcome,
    Verdict,
    trigger_status,
    unexpected,
)
from sheetsync.adapters.axiom.outage import Closure
from sheetsync.errors import AxiomError, AxiomReason


def attempts(count: int) -> str:
    """`1 attempt`, `4 attempts`."""
    return "1 attempt" if count == 1 else f"{count} attempts"


def trigger_outcome(
    result: Heard | Failure,
    tries: int,
    *,
    where: str,
    clean: Callable[[str], str],
    mask: Callable[[str], str],
) -> tuple[TriggerOutcome, str]:
    """The outcome of a trigger's last attempt (of `tries`), and the doubt of an `unknown`.

    `where` is axiom's base URL, `clean` makes text safe for a message, `mask` hides the
    key in a link (which keeps its own VNC password on purpose).
    """
    if isinstance(result, Failure):
        if result.sent:
            text = f"The connection to axiom broke after the trigger was sent ({result.cause})"
            message = clean(f"{text}: {UNKNOWN_ADVICE}")
            return TriggerOutcome("unknown", message=message, reason="no_answer"), result.cause
        message = f"cannot reach axiom at {where}: {result.cause} ({attempts(tries)})"
        return TriggerOutcome("waiting", message=clean(message), reason="connection"), ""
    answer, verdict = result.answer, result.verdict
    code, message = answer.http_status, clean(verdict.message or unexpected(answer))
    status, reason = trigger_status(verdict, code)
    if status == "triggered":
        return TriggerOutcome("triggered", link=mask(verdict.message), http_status=code), ""
    if status == "waiting":
        text = f"{WAITING_PREFIX[verdict.reason]}: {message} (HTTP {code}"
        text += f", {attempts(tries)})" if verdict.kind == "transient" else ")"
        outcome = TriggerOutcome(
            "waiting", message=text, http_status=code, reason=reason, retry_after=answer.retry_after
        )
        return outcome, ""
    if status == "unknown":
        what = (
            f"axiom or a proxy in front of it answered HTTP {code} after the trigger was sent"
            if reason == "gateway"
            else "sheetsync cannot read axiom's answer to the trigger"
        )
        text = clean(f"{what} ({message}), so {UNKNOWN_ADVICE}")
        doubt = f"HTTP {code}" if reason == "gateway" else f"an unreadable HTTP {code} answer"
        return TriggerOutcome("unknown", message=text, http_status=code, reason=reason), doubt
    return TriggerOutcome(status, message=message, http_status=code), ""


def held_message(closure: Closure | None) -> str:
    """The message of a row the closed gate keeps back (nothing was sent)."""
    why = f"{closure.cause} at {closure.closed_at:%H:%M:%S} UTC" if closure else "unclear"
    return (
        f"not sent: axiom's answer to an earlier trigger was unclear ({why}); sheetsync "
        "sends this row once axiom answers /list-automations again"
    )


def read_error(
    result: Heard | Failure,
    tries: int,
    endpoint: str,
    name: object,
    *,
    where: str,
    clean: Callable[[str], str],
) -> AxiomError:
    """The error of a read-only call (of `tries` attempts) that got no usable answer.

    `name` is the automation asked about (None: none), `where` axiom's base URL, `clean`
    makes text safe for a message.
    """
    call = f"axiom {endpoint}" + (f" for {name!r}" if name is not None else "")
    request = endpoint.strip("/")
    if isinstance(result, Failure):
        message = f"{call}: cannot reach axiom at {where}: {result.cause} ({attempts(tries)})"
        return AxiomError(clean(message), AxiomReason.UNREACHABLE, request=request)
    answer, verdict = result.answer, result.verdict
    message = clean(verdict.message)
    if verdict.kind in ("account", "transient", "gateway"):
        message = f"{WAITING_PREFIX[verdict.reason]}: {message}"
    elif verdict.kind in ("link", "queued"):
        message = clean(unexpected(answer))
    return AxiomError(
        f"{call}: {message} (HTTP {answer.http_status})",
        _read_reason(verdict),
        status=answer.http_status,
        request=request,
        retry_after=answer.retry_after,
    )


def _read_reason(verdict: Verdict) -> AxiomReason:
    """Why a read failed, as data: the verdict's reason, else what its kind means."""
    if verdict.kind in ("account", "transient", "gateway"):
        return AxiomReason(verdict.reason)
    if verdict.kind == "refused":
        return AxiomReason.REFUSED
    if verdict.kind == "redirect":
        return AxiomReason.REDIRECT
    return AxiomReason.UNEXPECTED
