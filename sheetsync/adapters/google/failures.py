"""Google's failures as the project's errors, translated at the boundary: a refusal
(`SheetError` with its reason and status, `QuotaError`, `RangeError`), an unreachable
Google, a token endpoint that says no, and a write whose fate is unknown (`UnsureWriteError`).

gspread's and requests' errors hold the request, whose headers carry the bearer token, so
they are not kept as causes; the fields of the error raised instead say what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gspread
import requests
from google.auth.exceptions import GoogleAuthError, TransportError

from sheetsync.core.backoff import parse_retry_after
from sheetsync.core.text import mended
from sheetsync.errors import QuotaError, RangeError, SheetError, UnsureWriteError


def call(
    where: tuple[str, str],
    account: str,
    hint: Callable[[], str],
    func: Callable[..., Any],
    *args: Any,
    write: bool = False,
    **kwargs: Any,
) -> Any:
    """`func(*args, **kwargs)` with its failures as `SheetError`s naming `where`
    (spreadsheet, tab); with `write`, a failure that leaves it open whether Google applied
    the write is an `UnsureWriteError`. `account` and `hint()` complete a refusal's text."""
    spreadsheet_id, title = where
    fields: dict[str, Any] = {"spreadsheet": spreadsheet_id, "tab": title}
    # Not `from exc` below: gspread's and requests' errors keep the request, whose
    # Authorization header holds the bearer token, and google-auth's transport error may
    # quote the token request (the signed assertion).
    try:
        return func(*args, **kwargs)
    except gspread.exceptions.APIError as exc:
        raise _refusal(exc, spreadsheet_id, title, account, hint, write=write) from None
    except TransportError as exc:
        raise SheetError(
            f"Google's token endpoint is unreachable ({_first_line(str(exc))[:120]})",
            "unreachable",
            **fields,
        ) from None
    except GoogleAuthError as exc:  # the token endpoint's refusal: no secret in it
        raise SheetError(
            f"Google rejected the service-account credentials ({type(exc).__name__}: "
            f"{_first_line(str(exc))})",
            "auth",
            **fields,
        ) from exc
    except requests.RequestException as exc:
        what = type(exc).__name__
        if write:
            raise UnsureWriteError(
                f"spreadsheet {spreadsheet_id}: no answer to a write "
                f"({what}); it may or may not have been applied",
                **fields,
            ) from None
        raise SheetError(
            f"spreadsheet {spreadsheet_id}: Google unreachable ({what})", "unreachable", **fields
        ) from None
    except ValueError as exc:  # a 200 that is not JSON: a captive portal or a proxy page
        raise SheetError(
            f"spreadsheet {spreadsheet_id}: Google answered something that is not JSON",
            **fields,
        ) from exc


def _refusal(
    exc: gspread.exceptions.APIError,
    spreadsheet_id: str,
    title: str,
    account: str,
    hint: Callable[[], str],
    *,
    write: bool,
) -> SheetError:
    """Google's refusal as a `SheetError`; a 5xx to a write may have been applied."""
    status = exc.response.status_code
    if write and status >= 500:  # a gateway may answer after Google applied it
        return UnsureWriteError(
            f"spreadsheet {spreadsheet_id}: Google answered {status} to a write; "
            "it may or may not have been applied",
            status=status,
            spreadsheet=spreadsheet_id,
            tab=title,
        )
    return _translate(exc, spreadsheet_id, title, account, hint())


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else ""


def _translate(
    exc: gspread.exceptions.APIError, spreadsheet_id: str, title: str, email: str, hint: str
) -> SheetError:
    """Google's refusal as a `SheetError` naming it; `hint` follows a missing tab's message."""
    status = exc.response.status_code
    message = mended(_first_line(str(exc.error.get("message", ""))))  # as answers are
    where = f"spreadsheet {spreadsheet_id}"
    fields: dict[str, Any] = {"status": status, "spreadsheet": spreadsheet_id, "tab": title}
    if status == 404:
        text = f"{where}: not found (deleted, or the id is wrong)"
        return SheetError(text, "not_found", **fields)
    if status == 403:
        text = f"{where}: permission denied; share it with {email} as Editor"
        return SheetError(text, "permission", **fields)
    if status == 429:
        retry_after = parse_retry_after(exc.response.headers.get("Retry-After"))
        text = f"{where}: Google quota exceeded ({message})"
        return QuotaError(text, retry_after=retry_after, **fields)
    # Google's answer body says which 400 it is: reading it is classification, as for axiom
    if status == 400 and "exceeds grid limits" in message:
        return RangeError(f"{where}: {message}", **fields)
    if status == 400 and "Unable to parse range" in message:
        text = f"{where}: worksheet {title!r} does not exist{hint}"
        return SheetError(text, "missing_tab", **fields)
    return SheetError(f"{where}: Google answered {status}: {message}", **fields)
