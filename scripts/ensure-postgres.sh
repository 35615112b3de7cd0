#!/usr/bin/env bash
# Make sure a PostgreSQL server answers for the tests; print the admin URL on stdout.
#
# The project's machines run PostgreSQL 15 on 127.0.0.1:5432 (trust auth). Where none
# answers (a developer machine), start a throwaway cluster from the Debian `postgresql`
# package in a temporary folder, on a free port, trust auth on loopback only; it stops
# when the caller kills the PID in $SHEETSYNC_PG_PIDFILE (or at reboot: it lives in /tmp).
# No server and no way to start one: a clear error, exit 1.
set -euo pipefail

url="${SHEETSYNC_TEST_PG:-postgresql://postgres@127.0.0.1:5432/postgres}"
if command -v pg_isready >/dev/null && pg_isready -q -d "$url" -t 3; then
    echo "$url"
    exit 0
fi
bin=""
for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && bin="$dir"
done
if [ -z "$bin" ]; then
    echo "ensure-postgres: no PostgreSQL answers at $url and none is installed" \
         "(Debian: apt-get install postgresql)" >&2
    exit 1
fi
dir="$(mktemp -d /tmp/sheetsync-pg.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as=()
if [ "$(id -u)" = 0 ]; then  # initdb refuses root: run the cluster as postgres
    chown postgres "$dir"
    as=(runuser -u postgres --)
fi
"${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir" start >/dev/null
[ -n "${SHEETSYNC_PG_PIDFILE:-}" ] && head -1 "$dir/data/postmaster.pid" > "$SHEETSYNC_PG_PIDFILE"
echo "ensure-postgres: started a throwaway cluster in $dir on port $port" >&2
echo "postgresql://postgres@127.0.0.1:$port/postgres"
