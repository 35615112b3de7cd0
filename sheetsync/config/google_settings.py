"""`[google]` and `[[google.identity]]`: the service accounts sheetsync reads and writes as.

Part of the config (`sheetsync.config.Config.google`): the section classes, the
budgets Google grants each identity and each Cloud project, and the rule that binds
watches to identities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from sheetsync.config.endpoints import require_secure
from sheetsync.config.schema import Invalid, limits

if TYPE_CHECKING:
    from sheetsync.config.watches import Watch

DEFAULT_GOOGLE_URL = "https://sheets.googleapis.com"
DEFAULT_GOOGLE_PER_MINUTE = 55
"""Google allows 60 reads and 60 writes per minute per user; keep headroom for humans' tools."""
DEFAULT_PROJECT_PER_MINUTE = 275
"""Google allows 300 reads and 300 writes per minute per Cloud project, shared by its users."""
DEFAULT_MAX_IDLE_SECONDS = 300.0
"""With Drive change detection, every spreadsheet is still read whole this often (a safety
net: Drive may report a change late)."""
DEFAULT_IDENTITY = "default"
"""The name of the identity `[google] service_account_file` defines."""

_POSITIVE = limits(gt=0)
_PER_MINUTE = limits(gt=0, le=10_000)
_RETRIES = limits(ge=0, le=10)
_NAME = limits(min_length=1)


@dataclass(frozen=True)
class IdentitySettings:
    """`[[google.identity]]`: one service account, and its budget when not `[google]`'s."""

    name: str = field(metadata=_NAME)
    service_account_file: str = field(metadata=_NAME)
    reads_per_minute: int | None = field(default=None, metadata=_PER_MINUTE)
    writes_per_minute: int | None = field(default=None, metadata=_PER_MINUTE)


@dataclass(frozen=True)
class GoogleSettings:
    """`[google]`: the service-account identities and the API endpoint."""

    service_account_file: str | None = None
    identity: tuple[IdentitySettings, ...] = ()
    api_base_url: str = DEFAULT_GOOGLE_URL
    reads_per_minute: int = field(default=DEFAULT_GOOGLE_PER_MINUTE, metadata=_PER_MINUTE)
    writes_per_minute: int = field(default=DEFAULT_GOOGLE_PER_MINUTE, metadata=_PER_MINUTE)
    project_reads_per_minute: int = field(default=DEFAULT_PROJECT_PER_MINUTE, metadata=_PER_MINUTE)
    project_writes_per_minute: int = field(default=DEFAULT_PROJECT_PER_MINUTE, metadata=_PER_MINUTE)
    timeout_seconds: float = field(default=30.0, metadata=_POSITIVE)
    max_retries: int = field(default=5, metadata=_RETRIES)
    change_detection: Literal["poll", "drive"] = "poll"
    max_idle_seconds: float = field(default=DEFAULT_MAX_IDLE_SECONDS, metadata=_POSITIVE)
    allow_insecure_http: bool = False
    """Also lets the service-account files' `token_uri` be plain http (see `sheet`)."""

    def check(self) -> None:
        """One way to name the service accounts; identity names tell them apart; Google's
        access tokens travel encrypted."""
        require_secure("google", "api_base_url", self.api_base_url, self.allow_insecure_http)
        if self.service_account_file is None and not self.identity:
            raise Invalid(
                ("service_account_file",),
                "required key is missing (or one [[google.identity]] table per service account)",
            )
        if self.service_account_file is not None and self.identity:
            raise Invalid(
                ("identity",), "set service_account_file or [[google.identity]], not both"
            )
        names = [i.name for i in self.identity]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"identity names must be unique, repeated: {', '.join(dupes)}")

    @property
    def drive(self) -> bool:
        """Whether Drive tells which spreadsheets changed (`change_detection = "drive"`)."""
        return self.change_detection == "drive"

    @property
    def identities(self) -> tuple[IdentitySettings, ...]:
        """Every identity with its budget filled in (`service_account_file` is `default`)."""
        found = self.identity or (
            IdentitySettings(DEFAULT_IDENTITY, self.service_account_file or ""),
        )
        return tuple(
            replace(
                i,
                reads_per_minute=i.reads_per_minute or self.reads_per_minute,
                writes_per_minute=i.writes_per_minute or self.writes_per_minute,
            )
            for i in found
        )

    def key_label(self, identity: IdentitySettings) -> str:
        """The config key that names an identity's key file, for error messages."""
        if not self.identity:
            return "google.service_account_file"
        index = self.identity.index(identity) if identity in self.identity else 0
        return f"google.identity[{index}] ({identity.name}).service_account_file"


def check_identities(google: GoogleSettings, watches: Sequence[Watch]) -> None:
    """A watch's identity exists, and the watches of one spreadsheet share their reads, so
    they use one identity."""
    known = {i.name for i in google.identities}
    chosen: dict[str, Watch] = {}
    for watch in watches:
        if watch.identity is None:
            continue
        if watch.identity not in known:
            raise ValueError(
                f"watch {watch.name}: identity {watch.identity!r} is not a "
                f"[[google.identity]] name ({', '.join(sorted(known))})"
            )
        other = chosen.setdefault(watch.spreadsheet_id, watch)
        if other.identity != watch.identity:
            raise ValueError(
                f"watches {other.name} and {watch.name} read one spreadsheet with "
                f"different identities ({other.identity}, {watch.identity}); one "
                "spreadsheet is read by one identity"
            )
