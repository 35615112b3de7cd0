"""The shipped systemd units: required directives, and systemd-analyze's verdict when it is here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "systemd"
CHECK = ROOT / "scripts" / "check-systemd.sh"

Unit = dict[str, dict[str, list[str]]]

HARDENING = {
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "NoNewPrivileges": "yes",
    "DynamicUser": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "DevicePolicy": "closed",
    "PrivateUsers": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectProc": "invisible",
    "ProcSubset": "pid",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "RemoveIPC": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallArchitectures": "native",
    "UMask": "0077",
    "StateDirectory": "sheetsync",
    "ConfigurationDirectory": "sheetsync",
    "SyslogLevel": "err",  # raw stderr (tracebacks, watchdog stack dumps) shows at -p warning
}
CREDENTIALS = [
    "axiom-key:/etc/sheetsync/axiom-key",
    "service-account.json:/etc/sheetsync/service-account.json",
]


def parse_unit(path: Path) -> Unit:
    """Sections -> key -> every value in order (systemd keys may repeat; configparser's won't)."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), f"{path.name}: keep directives on one line: {line}"
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        assert section is not None, f"{path.name}: directive before any section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not a KEY=value line: {line}"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def one(unit: Unit, section: str, key: str) -> str:
    """The effective (last) value of a directive; fails when it is absent."""
    values = unit.get(section, {}).get(key)
    assert values, f"[{section}] {key}= is missing"
    return values[-1]


def seconds(value: str) -> float:
    """A systemd time span (`90s`, `2min`, `10`) in seconds."""
    total = 0.0
    for number, suffix in re.findall(r"(\d+)\s*(min|ms|s|h)?", value):
        total += int(number) * {"": 1, "s": 1, "min": 60, "h": 3600, "ms": 0.001}[suffix]
    return total


@pytest.fixture(scope="module")
def service() -> Unit:
    """The daemon's unit."""
    return parse_unit(UNITS / "sheetsync.service")


@pytest.fixture(scope="module")
def once() -> Unit:
    """The one-cycle unit the timer starts."""
    return parse_unit(UNITS / "sheetsync-once.service")


def test_daemon_unit_talks_sd_notify_with_a_watchdog(service: Unit) -> None:
    """Type=notify from the main process, a watchdog, and the documented command line."""
    assert one(service, "Service", "Type") == "notify"
    assert one(service, "Service", "NotifyAccess") == "main"
    assert one(service, "Service", "ExecStart") == (
        "/usr/local/bin/sheetsync run -c /etc/sheetsync/sheetsync.toml"
    )
    # /bin/kill is in procps, absent from a minimal install (203/EXEC on reload)
    assert one(service, "Service", "ExecReload") == "/bin/sh -c 'kill -HUP $$MAINPID'"
    assert 30 <= seconds(one(service, "Service", "WatchdogSec")) <= 600


def test_daemon_unit_restarts_sanely_but_not_on_config_errors(service: Unit) -> None:
    """Failures restart after a pause, within a start limit; exit 2 (config) never restarts."""
    assert one(service, "Service", "Restart") == "on-failure"
    assert seconds(one(service, "Service", "RestartSec")) >= 5
    # 2: sheetsync's config/credential errors; 243: systemd's own, a missing credential
    assert {"2", "243"} <= set(one(service, "Service", "RestartPreventExitStatus").split())
    assert seconds(one(service, "Unit", "StartLimitIntervalSec")) >= 60
    assert 1 < int(one(service, "Unit", "StartLimitBurst")) <= 10
    assert seconds(one(service, "Service", "TimeoutStopSec")) >= 60
    assert "network-online.target" in one(service, "Unit", "After").split()
    assert one(service, "Install", "WantedBy") == "multi-user.target"


@pytest.mark.parametrize("name", ["sheetsync.service", "sheetsync-once.service"])
def test_services_are_hardened_and_get_credentials(name: str) -> None:
    """Both services run sandboxed as a dynamic user with secrets from LoadCredential=."""
    unit = parse_unit(UNITS / name)
    for key, expected in HARDENING.items():
        assert one(unit, "Service", key) == expected, key
    assert unit["Service"]["LoadCredential"] == CREDENTIALS
    assert unit["Service"]["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    assert "IPAddressDeny" not in unit["Service"]  # it must reach Google and axiom
    # a dynamic user has no passwd entry on a minimal system, and systemd sets no HOME
    assert "HOME=/var/lib/sheetsync" in unit["Service"]["Environment"]


def test_both_services_share_identity_and_state(service: Unit, once: Unit) -> None:
    """The timer's service uses the same user and state directory, so they share one journal."""
    for key in ("User", "Group", "DynamicUser", "StateDirectory", "WorkingDirectory"):
        assert one(service, "Service", key) == one(once, "Service", key), key


def test_once_unit_is_a_bounded_oneshot(once: Unit) -> None:
    """`sheetsync once` runs as a oneshot with a start timeout so a hang cannot wedge the timer."""
    assert one(once, "Service", "Type") == "oneshot"
    assert one(once, "Service", "ExecStart") == (
        "/usr/local/bin/sheetsync once -c /etc/sheetsync/sheetsync.toml"
    )
    assert 0 < seconds(one(once, "Service", "TimeoutStartSec")) <= 3600
    assert "Restart" not in once["Service"]


def test_timer_starts_the_once_service_every_minute() -> None:
    """The timer is monotonic (no Persistent=, which only applies to OnCalendar=)."""
    timer = parse_unit(UNITS / "sheetsync-once.timer")
    assert one(timer, "Timer", "Unit") == "sheetsync-once.service"
    assert (UNITS / one(timer, "Timer", "Unit")).is_file()
    assert seconds(one(timer, "Timer", "OnUnitActiveSec")) == 60
    assert seconds(one(timer, "Timer", "OnBootSec")) > 0
    assert "Persistent" not in timer["Timer"]
    assert one(timer, "Install", "WantedBy") == "timers.target"


def test_check_script_skips_visibly_without_systemd_analyze(tmp_path: Path) -> None:
    """Where systemd-analyze is missing the check says SKIP and does not fail the build."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dirname = shutil.which("dirname")
    assert dirname is not None
    (bin_dir / "dirname").symlink_to(dirname)
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(
        [bash, str(CHECK)],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SKIP: systemd-analyze not found")


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze not installed (apt-get install systemd); units not verified",
)
def test_systemd_analyze_verifies_and_rates_the_units_ok() -> None:
    """`systemd-analyze verify` accepts the units and `security` rates each service <= 2.0."""
    result = subprocess.run(
        ["bash", str(CHECK)],
        env={**os.environ, "LC_ALL": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: systemd-analyze verify accepts" in result.stdout
    scores = re.findall(r"Overall exposure level for ([\w.-]+): (\d+\.\d)", result.stdout)
    assert {name for name, _ in scores} == {"sheetsync.service", "sheetsync-once.service"}
    for name, score in scores:
        assert float(score) <= 2.0, f"{name} scores {score}"
