"""Every error sheetsync raises on purpose, in one tree.

    SheetsyncError
    ├── ConfigError          the config file, a key file or a credential is wrong (exit 2)
    ├── SheetError           a worksheet cannot be read/written, or its header is wrong
    │   │                    (`reason`, `status`: HTTP or 0, `spreadsheet`, `tab`)
    │   ├── QuotaError       Google answered 429 after our bounded retries (`retry_after`)
    │   ├── RangeError       a range reaches past the tab's grid (rows were deleted)
    │   ├── UnsureWriteError a values write got no clear answer: it may have been applied
    │   └── DriveError       Drive's changes feed could not be read (`status`: HTTP, 0 none)
    ├── AxiomError           an axiom call other than /trigger failed (trigger outcomes are values)
    │                        (`reason`: an `AxiomReason`, `status`, `request`, `retry_after`)
    ├── StoppedError         a stop request ended a wait before a trigger left (nothing was sent)
    └── JournalError         the local state file is unusable or locked by another process
                             (`reason`: a `JournalReason`)
        └── StoreError       the state database failed (`reason` says how: unreachable, ...)
            └── LeaseLostError   a spreadsheet's lease is no longer this process's (fenced)

Callers branch on these fields, never on the message. Third-party exceptions are
translated at the adapter boundary with `raise ... from exc`, except where the cause could
carry a secret (a comment there says which); messages are one line, name the
file/key/worksheet/row involved, and never carry a secret.
"""

from __future__ import annotations

import enum


class SheetsyncError(Exception):
    """Base of every deliberate sheetsync error."""


class ConfigError(SheetsyncError):
    """The configuration or a credential it points at is invalid."""


class SheetError(SheetsyncError):
    """A worksheet cannot be used: gone, unreadable, or missing columns.

    `reason` says which, for callers that decide what to tell a person: `missing_tab`,
    `not_found`, `permission`, `auth`, `quota`, `range`, `header`, `unreachable` or `sheet`.
    """

    default_reason = "sheet"

    def __init__(
        self,
        message: str,
        reason: str | None = None,
        *,
        status: int = 0,
        spreadsheet: str = "",
        tab: str = "",
    ) -> None:
        super().__init__(message)
        self.reason = reason or self.default_reason
        self.status = status
        """Google's HTTP status, or 0 when there was no answer (or no request)."""
        self.spreadsheet = spreadsheet
        """The spreadsheet id the request was for ("" when not known)."""
        self.tab = tab
        """The worksheet's title the request was for ("" when not known)."""


class QuotaError(SheetError):
    """Google kept answering 429 after sheetsync's bounded retries."""

    default_reason = "quota"

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        spreadsheet: str = "",
        tab: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, spreadsheet=spreadsheet, tab=tab)
        self.retry_after = retry_after
        """Google's Retry-After on its last 429, in seconds (None: none given)."""


class RangeError(SheetError):
    """A read or write range reaches past the tab's grid (400 `exceeds grid limits`)."""

    default_reason = "range"


class UnsureWriteError(SheetError):
    """A values write failed without Google saying it refused it (no answer, or a 5xx)."""


class DriveError(SheetError):
    """Drive's changes feed could not be read; `status` is Google's HTTP status (0: none)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status=status)


class AxiomReason(enum.Enum):
    """Why an axiom call failed (the waiting reasons of a trigger use the same words)."""

    UNREACHABLE = "unreachable"
    """No answer: the connection failed or timed out."""
    INVALID_KEY = "invalid_key"
    """axiom rejected the API key."""
    QUOTA = "quota"
    """The runtime allowance of the billing period is used up."""
    RATE_LIMIT = "rate_limit"
    """Too many calls: a 429 or axiom's rate-limit message."""
    SERVER = "server"
    """axiom's own JSON 503: busy, nothing was done."""
    GATEWAY = "gateway"
    """Any other 5xx (axiom or a proxy in front of it)."""
    REFUSED = "refused"
    """axiom refused the request and said why (an unknown automation, a bad request)."""
    REDIRECT = "redirect"
    """A 3xx: sheetsync never follows one (the key would travel with it)."""
    UNEXPECTED = "unexpected"
    """An answer of no documented shape, or without the figures asked for."""


class AxiomError(SheetsyncError):
    """An axiom API call (not a trigger outcome) failed; its fields say why, as data."""

    def __init__(
        self,
        message: str,
        reason: AxiomReason = AxiomReason.UNEXPECTED,
        *,
        status: int = 0,
        request: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        """axiom's HTTP status, or 0 when there was no answer."""
        self.request = request
        """The call that failed, as metrics name it: `run-data`, `list-automations`, ..."""
        self.retry_after = retry_after
        """axiom's Retry-After in seconds, when it gave one."""


class JournalReason(enum.Enum):
    """Why the journal cannot be used."""

    UNAVAILABLE = "unavailable"
    """The file cannot be opened, read or written (permissions, read-only filesystem, disk)."""
    LOCKED = "locked"
    """Another sheetsync process holds the journal's lock."""
    DAMAGED = "damaged"
    """Not a complete sheetsync journal: empty, truncated, garbage, or its WAL left alone."""
    NEWER = "newer"
    """Written by a newer sheetsync: a schema version or a row state this one does not know."""
    UNCERTAIN = "uncertain"
    """The connection broke during COMMIT: the transaction may or may not have committed."""
    QUERY = "query"
    """The database refused a statement."""
    SETUP = "setup"
    """A start-up check refused the database (an UNLOGGED lease table, no sync replica)."""
    CONFLICT = "conflict"
    """Another live instance holds a spreadsheet with different watches for it."""
    LEASE_LOST = "lease_lost"
    """A fenced transaction found its lease gone (see `LeaseLostError`)."""


class StoppedError(SheetsyncError):
    """A stop request ended the wait for a pace slot or a retry: the trigger never left."""


class JournalError(SheetsyncError):
    """The local journal cannot be opened, or another sheetsync holds its lock."""

    def __init__(self, message: str, reason: JournalReason = JournalReason.UNAVAILABLE) -> None:
        super().__init__(message)
        self.reason = reason


StoreReason = JournalReason
"""The state stores (SQLite or PostgreSQL) fail for the reasons the journal does."""


class StoreError(JournalError):
    """The state database cannot serve a request; `reason` says how."""


class LeaseLostError(StoreError):
    """A fenced transaction of `unit` at `epoch` found the lease taken or released: roll back."""

    def __init__(self, unit: str, epoch: int) -> None:
        super().__init__(
            f"spreadsheet {unit}: lease epoch {epoch} is no longer held by this instance",
            JournalReason.LEASE_LOST,
        )
        self.unit = unit
        self.epoch = epoch
