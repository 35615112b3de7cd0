"""What a minimal systemd host gives the process: no HOME, no passwd entry for the uid."""

from __future__ import annotations

import subprocess
import sys

from sheetsync.testing import World

NO_PASSWD_ENTRY = """
import pwd, sys
def nobody(uid):
    raise KeyError(f"getpwuid(): uid not found: {uid}")
pwd.getpwuid = nobody
from sheetsync.service.cli import main
main(["once", "-c", sys.argv[1]])
"""


def test_once_works_without_home_or_passwd_entry(world: World) -> None:
    """DynamicUser= without libnss-systemd: no HOME, getpwuid fails; a cycle still runs."""
    world.sheet([["url"], ["https://a"]])
    config = world.config()
    env = {"PATH": "/usr/bin:/bin", **world.environ}
    proc = subprocess.run(
        [sys.executable, "-c", NO_PASSWD_ENTRY, str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert world.column("Status") == ["triggered"]
