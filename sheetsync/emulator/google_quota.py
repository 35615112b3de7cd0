"""Sheets' per-minute quotas as the Google emulator meters them: per user and per project.

Google counts the read and the write requests of each user (a service account is one)
and of each Cloud project in rolling minutes; over either limit the request is refused
with a 429 that names the limit. A refused request does not count.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

from sheetsync.emulator.google_a1 import ApiError


def quota_error(kind: str, per_user: bool = True) -> ApiError:
    """Google's 429 for the per-user (or per-project) 'Read requests' / 'Write requests' quota."""
    metric = f"{kind} requests"
    limit = f"{metric} per minute per user" if per_user else f"{metric} per minute"
    message = (
        f"Quota exceeded for quota metric '{metric}' and limit '{limit}' "
        "of service 'sheets.googleapis.com' for consumer 'project_number:0'."
    )
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {
            "quota_metric": f"sheets.googleapis.com/{kind.lower()}_requests",
            "service": "sheets.googleapis.com",
            "quota_limit": f"{kind}RequestsPerMinute{'PerUser' if per_user else ''}",
            "consumer": "projects/0",
        },
    }
    return ApiError(429, message, "RESOURCE_EXHAUSTED", {"details": [info]})


def project_of(client_email: str) -> str:
    """A service account's Cloud project, as its address names it (`sa@PROJECT.iam...`)."""
    domain = client_email.partition("@")[2]
    return domain.split(".")[0] if domain.endswith(".iam.gserviceaccount.com") else domain


class Meter:
    """Rolling one-minute windows of requests per (bucket, user) and (bucket, project).

    `user_limits` and `project_limits` map a bucket ("read", "write") to its limit per
    minute, or None for no limit. Not thread-safe: the emulator holds its lock.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        user_limits: dict[str, int | None],
        project_limits: dict[str, int | None],
    ) -> None:
        self.clock = clock
        self.user_limits = user_limits
        self.project_limits = project_limits
        self.rejections = 0
        self._windows: dict[tuple[str, str], collections.deque[float]] = {}

    def take(self, bucket: str, user: str) -> None:
        """Count one request of `user`, or raise Google's 429 when a limit is reached."""
        now = self.clock()
        checks = [
            ((bucket, user), self.user_limits.get(bucket), True),
            ((bucket, "project:" + project_of(user)), self.project_limits.get(bucket), False),
        ]
        for key, limit, per_user in checks:
            window = self._windows.setdefault(key, collections.deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if limit is not None and len(window) >= limit:
                self.rejections += 1
                raise quota_error("Read" if bucket == "read" else "Write", per_user)
        for key, _, _ in checks:
            self._windows[key].append(now)

    def clear(self) -> None:
        """Forget every window and rejection."""
        self.rejections = 0
        self._windows.clear()
