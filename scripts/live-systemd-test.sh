#!/usr/bin/env bash
# The systemd units under a real systemd: boots a MINIMAL Debian 12 with systemd-nspawn
# (systemd as PID 1, no procps, no libnss-systemd: the packages whose absence showed the
# defects of issue 11), installs sheetsync into it exactly as README.md's "Running as a
# service" and "Upgrading" say, runs the built-in emulators inside, and checks what only a
# live systemd shows: READY=1, STATUS=, a row triggered, a watchdog restart on a stall,
# reload with a changed and a broken config, graceful stop (exit 0), journal priorities,
# `systemd-analyze security` <= 2.0 live, no EPERM/EACCES, the timer variant, and a
# missing credential failing once (243) instead of looping.
#
# Needs root. The image is built once with debootstrap and kept in
# $SHEETSYNC_LIVE_CACHE (default /var/cache/sheetsync-live/base); each run boots a fresh
# copy of it. Wheels are built on the host and installed inside with --no-index (pip in
# the image need not reach the index). About 3 minutes cold, 1-2 minutes cached.
# When it cannot run (not root, no nspawn, the image cannot be built or booted) it prints
# one `SKIP: <reason>` line and exits 0. Exit 1 when a check fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/.." && pwd)"
cache="${SHEETSYNC_LIVE_CACHE:-/var/cache/sheetsync-live}"
base="$cache/base"
machine="$cache/machine"
suite=bookworm
mirror="${SHEETSYNC_LIVE_MIRROR:-http://deb.debian.org/debian}"
key="live-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
automation="Scrape product page"
passed=0
failed=0
nspawn_pid=""

skip() { echo "SKIP: live systemd test: $*"; exit 0; }
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap and systemd-nspawn)"
if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || skip "systemd-nspawn/debootstrap missing and no apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        systemd-container debootstrap >/dev/null 2>&1) || skip "cannot install systemd-container debootstrap"
fi

# -- the image: minimal on purpose (no procps, no libnss-systemd) --------------------------
if [ ! -f "$base/.sheetsync-live-v1" ]; then
    echo "building a minimal Debian 12 image in $base (once)..."
    rm -rf "$base.tmp" && mkdir -p "$cache"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,python3,python3-venv \
        "$suite" "$base.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || skip "debootstrap failed (see $cache/debootstrap.log)"
    rm -rf "$base" && mv "$base.tmp" "$base" && touch "$base/.sheetsync-live-v1"
fi

# -- wheels, as README step 1 says: `python3 -m pip wheel --wheel-dir wheels /path/to/sheetsync`
cleanup() {
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        inside systemctl poweroff >/dev/null 2>&1 || true
        for _ in $(seq 1 20); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
        kill "$nspawn_pid" 2>/dev/null || true
    fi
    rm -rf "$machine"
}
trap cleanup EXIT
rm -rf "$machine" && cp -a "$base" "$machine"
mkdir -p "$machine/root/src"
cp -a "$src/systemd" "$machine/root/src/systemd"
python3 -m pip wheel --quiet --wheel-dir "$machine/root/wheels" "$src" >"$cache/wheel.log" 2>&1 \
    || skip "cannot build the wheels on the host (see $cache/wheel.log)"

# -- boot ---------------------------------------------------------------------------------
systemd-nspawn -D "$machine" -b --register=no --keep-unit --private-network \
    --machine=sheetsync-live >"$cache/console.log" 2>&1 </dev/null &
nspawn_pid=$!
leader=""
for _ in $(seq 1 100); do
    leader="$(pgrep -P "$nspawn_pid" | head -n 1 || true)"
    [ -n "$leader" ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ] && break
    sleep 0.2
done
[ -n "$leader" ] || skip "systemd-nspawn did not start a container (see $cache/console.log)"
# the container's own environment, not the host's (PIP_*, PYTHON* and the like stay outside)
clean_env=(/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root LANG=C.UTF-8 TERM=dumb)
inside() { nsenter -t "$leader" -a -- "${clean_env[@]}" "$@"; }
sh_in() { nsenter -t "$leader" -a -- "${clean_env[@]}" /bin/sh -c "cd /root && $1"; }
state=""
for _ in $(seq 1 120); do
    state="$(inside systemctl is-system-running 2>/dev/null || true)"
    case "$state" in running | degraded) break ;; esac
    sleep 0.5
done
case "$state" in running | degraded) ;; *) skip "the container's systemd did not finish booting ($state)" ;; esac
echo "booted: $(inside systemctl --version | head -n 1), system $state"
check "minimal image: no /bin/kill (procps), no libnss-systemd" \
    sh_in '! command -v kill >/dev/null 2>&1 || [ "$(command -v kill)" = kill ]; ! test -e /bin/kill && ! dpkg -s libnss-systemd >/dev/null 2>&1'

wait_for() {  # wait_for SECONDS COMMAND...: poll until it succeeds
    local limit="$1"; shift
    for _ in $(seq 1 $((limit * 2))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
    return 1
}
prop() { inside systemctl show -p "$2" --value "$1"; }
sheet() { sh_in "sheetsync emulator show --sheet $sid --service-account /root/emulator/emulator-service-account.json"; }

# -- README step 1: install ---------------------------------------------------------------
sh_in 'python3 -m venv /opt/sheetsync'
sh_in '/opt/sheetsync/bin/pip install --quiet --no-index --find-links wheels sheetsync-axiom'
sh_in 'ln -sf /opt/sheetsync/bin/sheetsync /usr/local/bin/sheetsync'
check "installed from wheels: $(sh_in 'sheetsync --version')" sh_in 'sheetsync --version'

# -- the emulators, inside (loopback only: --private-network) ------------------------------
sh_in 'mkdir -p /root/emulator'
inside systemd-run --quiet --unit=emulators --property=WorkingDirectory=/root/emulator \
    /usr/local/bin/sheetsync emulator --key "$key" --automation "$automation"
wait_for 30 sh_in 'test -s /root/emulator/emulator-service-account.json && journalctl -u emulators -o cat | grep -q "sample spreadsheet id"' \
    || { inside journalctl -u emulators --no-pager | tail -20; bad "emulators started"; exit 1; }
sid="$(inside journalctl -u emulators -o cat | sed -n 's/^sample spreadsheet id: *\([^ ]*\).*/\1/p' | head -n 1)"
ok "emulators serve spreadsheet $sid"

# -- README steps 3-4: secrets and config (the emulator's key file stands for Google's) ----
sh_in 'install -d -m 0755 /etc/sheetsync'
sh_in 'install -m 0600 /dev/null /etc/sheetsync/axiom-key'
sh_in "printf '%s\n' '$key' > /etc/sheetsync/axiom-key"
sh_in 'install -m 0600 emulator/emulator-service-account.json /etc/sheetsync/service-account.json'
write_config() {  # write_config INTERVAL [EXTRA TOML]
    sh_in "cat > /etc/sheetsync/sheetsync.toml <<EOF
[axiom]
api_key_file = \"\\\${CREDENTIALS_DIRECTORY}/axiom-key\"
base_url = \"http://127.0.0.1:8086/api/v3\"

[google]
service_account_file = \"\\\${CREDENTIALS_DIRECTORY}/service-account.json\"
api_base_url = \"http://127.0.0.1:8085\"

[state]
path = \"/var/lib/sheetsync/sheetsync.db\"

[[watch]]
name = \"scrape\"
spreadsheet = \"$sid\"
worksheet = \"Queue\"
automation = \"$automation\"
interval_seconds = $1
$2
EOF"
}
write_config 2 ""
check "sheetsync check passes (as README step 4 runs it)" \
    sh_in 'env CREDENTIALS_DIRECTORY=/etc/sheetsync sheetsync check -c /etc/sheetsync/sheetsync.toml >/root/check.log 2>&1'

# -- README step 5: the unit --------------------------------------------------------------
sh_in 'cd src && install -m 0644 systemd/sheetsync.service /etc/systemd/system/'
sh_in 'systemctl daemon-reload'
sh_in 'systemctl enable --now sheetsync' || true
check "READY=1: 'enable --now' (Type=notify) returned with the unit active" \
    test "$(prop sheetsync ActiveState)/$(prop sheetsync SubState)" = active/running
check "started on a minimal image: no HOME/passwd crash, 'sheetsync started' logged" \
    sh_in 'journalctl -u sheetsync -o cat | grep -q "sheetsync started"'
triggered() { sheet | grep -q "triggered"; }
check "a row triggered (the sample row)" wait_for 30 triggered
sh_in "sheetsync emulator add-row --sheet $sid --service-account emulator/emulator-service-account.json https://example.com/live" >/dev/null
two_rows() { [ "$(sheet | grep -c triggered)" -ge 2 ]; }
check "a row added while it runs is triggered" wait_for 30 two_rows
status_has_today() { prop sheetsync StatusText | grep -q "rows triggered today"; }
check "STATUS=: $(prop sheetsync StatusText)" wait_for 10 status_has_today
check "systemctl status shows the Status: line" sh_in 'systemctl status sheetsync --no-pager | grep -q "Status: \""'

# -- reload: a changed config, then a broken one ------------------------------------------
write_config 3 ""
check "systemctl reload (no procps) succeeds" sh_in 'systemctl reload sheetsync'
check "changed config reloaded" wait_for 10 sh_in 'journalctl -u sheetsync -o cat | grep -q "configuration reloaded"'
sh_in 'printf "[[watch]\n" >> /etc/sheetsync/sheetsync.toml'
sh_in 'systemctl reload sheetsync' || true
check "broken config refused, old one kept" \
    wait_for 10 sh_in 'journalctl -u sheetsync -o cat | grep -q "reload failed, still running the previous config"'
check "still active after the broken reload" test "$(prop sheetsync ActiveState)" = active
write_config 2 ""
sh_in 'systemctl reload sheetsync'

# -- the watchdog: a stalled daemon is killed and restarted --------------------------------
sh_in 'mkdir -p /etc/systemd/system/sheetsync.service.d && printf "[Service]\nWatchdogSec=6s\n" > /etc/systemd/system/sheetsync.service.d/watchdog.conf'
sh_in 'systemctl daemon-reload && systemctl restart sheetsync'
restarts_before="$(prop sheetsync NRestarts)"
sh_in 'kill -STOP "$(systemctl show -p MainPID --value sheetsync)"'
restarted() { [ "$(prop sheetsync NRestarts)" -gt "$restarts_before" ] && [ "$(prop sheetsync ActiveState)" = active ]; }
check "watchdog: a SIGSTOPped daemon is restarted" wait_for 45 restarted
check "watchdog timeout logged by systemd" sh_in 'journalctl -u sheetsync -o cat | grep -qi "watchdog timeout"'
check "the SIGABRT stack dump (raw stderr) is filed as an error (SyslogLevel=err)" \
    sh_in 'journalctl -u sheetsync -p err -o cat | grep -q "^  File \""'
sh_in 'rm -r /etc/systemd/system/sheetsync.service.d && systemctl daemon-reload && systemctl restart sheetsync'

# -- graceful stop, priorities, sandbox ----------------------------------------------------
score="$(inside systemd-analyze security sheetsync --no-pager 2>&1 | sed -n 's/.*Overall exposure level for sheetsync.service: \([0-9.]*\).*/\1/p')"
check "systemd-analyze security (live) rates ${score:-?} <= 2.0" \
    awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
sh_in 'systemctl stop sheetsync'
check "graceful stop: exit status 0, result success" \
    test "$(prop sheetsync ExecMainStatus)/$(prop sheetsync Result)" = 0/success
check "journalctl -p warning shows the refused reload (error)" \
    sh_in 'journalctl -u sheetsync -p warning -o cat | grep -q "reload failed"'
check "journalctl -p warning hides routine INFO lines" \
    sh_in '! journalctl -u sheetsync -p warning -o cat | grep -q "sheetsync started"'
check "INFO lines are filed at priority 6" \
    sh_in 'journalctl -u sheetsync -p info..info -o cat | grep -q "sheetsync started"'
check "no EPERM/EACCES under the sandbox" \
    sh_in '! journalctl -u sheetsync -o cat | grep -Eq "EPERM|EACCES|Operation not permitted|Permission denied"'

# -- README "Upgrading", literally ---------------------------------------------------------
sh_in 'systemctl stop sheetsync'
sh_in 'cp -a /var/lib/private/sheetsync /root/sheetsync-state.bak'
sh_in '/opt/sheetsync/bin/pip install --quiet --upgrade --no-index --find-links wheels sheetsync-axiom'
check "upgrade: check passes" \
    sh_in 'env CREDENTIALS_DIRECTORY=/etc/sheetsync sheetsync check -c /etc/sheetsync/sheetsync.toml >/dev/null 2>&1'
sh_in 'cd src && install -m 0644 systemd/sheetsync.service /etc/systemd/system/'
sh_in 'systemctl daemon-reload'
sh_in 'systemctl start sheetsync'
check "upgrade: started again, journal kept (state backup taken)" \
    sh_in 'journalctl -u sheetsync -n 20 -o cat | grep -q "sheetsync started" && test -s /root/sheetsync-state.bak/sheetsync.db'

# -- a missing credential: fails once with 243, no restart loop ----------------------------
sh_in 'systemctl stop sheetsync && mv /etc/sheetsync/axiom-key /root/axiom-key.away'
sh_in 'systemctl start sheetsync' || true
sleep 14  # RestartSec=10: a restart would have happened by now
check "missing credential: exit 243 (CREDENTIALS), failed, not restarted" \
    test "$(prop sheetsync ExecMainStatus)/$(prop sheetsync ActiveState)/$(prop sheetsync NRestarts)" = 243/failed/0
sh_in 'mv /root/axiom-key.away /etc/sheetsync/axiom-key && systemctl reset-failed sheetsync'

# -- the timer variant ---------------------------------------------------------------------
sh_in 'systemctl disable --quiet sheetsync'
sh_in 'cd src && install -m 0644 systemd/sheetsync-once.service systemd/sheetsync-once.timer /etc/systemd/system/'
sh_in 'systemctl daemon-reload'
sh_in 'systemctl enable --now sheetsync-once.timer'
check "timer listed" sh_in 'systemctl list-timers sheetsync-once.timer --no-pager | grep -q sheetsync-once'
sh_in "sheetsync emulator add-row --sheet $sid --service-account emulator/emulator-service-account.json https://example.com/timer" >/dev/null
sh_in 'systemctl start sheetsync-once.service' || true
check "once service: exit 0, result success" \
    test "$(prop sheetsync-once.service ExecMainStatus)/$(prop sheetsync-once.service Result)" = 0/success
three_rows() { [ "$(sheet | grep -c triggered)" -ge 3 ]; }
check "once service triggered the new row" three_rows

echo "--- the sheet at the end:"
sheet || true
echo "--- journalctl -u sheetsync -p warning:"
inside journalctl -u sheetsync -p warning -o short-iso --no-pager | tail -n 12 || true
echo "live-systemd: $passed passed, $failed failed"
[ "$failed" = 0 ]
