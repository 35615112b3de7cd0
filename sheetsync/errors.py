"""Every error sheetsync raises on purpose, in one tree.

    SheetsyncError
    ├── ConfigError          the config file, a key file or a credential is wrong (exit 2)
    ├── SheetError           a worksheet cannot be read/written, or its header is wrong
    │   ├── QuotaError       Google answered 429 after our bounded retries
    │   ├── RangeError       a range reaches past the tab's grid (rows were deleted)
    │   └── DriveError       Drive's changes feed could not be read (`status`: HTTP, 0 none)
    ├── AxiomError           an axiom call other than /trigger failed (trigger outcomes are values)
    └── JournalError         the local state file is unusable or locked by another process

Third-party exceptions are translated at the adapter boundary with `raise ... from exc`;
messages are one line, name the file/key/worksheet/row involved, and never carry a secret.
"""

from __future__ import annotations


class SheetsyncError(Exception):
    """Base of every deliberate sheetsync error."""


class ConfigError(SheetsyncError):
    """The configuration or a credential it points at is invalid."""


class SheetError(SheetsyncError):
    """A worksheet cannot be used: gone, unreadable, or missing columns."""


class QuotaError(SheetError):
    """Google kept answering 429 after sheetsync's bounded retries."""


class RangeError(SheetError):
    """A read or write range reaches past the tab's grid (400 `exceeds grid limits`)."""


class DriveError(SheetError):
    """Drive's changes feed could not be read; `status` is Google's HTTP status (0: none)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class AxiomError(SheetsyncError):
    """An axiom API call (not a trigger outcome) failed."""


class JournalError(SheetsyncError):
    """The local journal cannot be opened, or another sheetsync holds its lock."""
