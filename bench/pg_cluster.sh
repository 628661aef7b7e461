#!/usr/bin/env bash
# A throwaway PostgreSQL server for the publish tests (issue 15), from Debian's `postgresql`
# package: a cluster in DIR owned by an unprivileged user (initdb refuses root), listening on
# 127.0.0.1:PORT only, trust authentication for the user `evergreen`, and a password
# (scram-sha-256) for the role `evergreen_pw` only, which the password tests (issue 26) create.
#   bench/pg_cluster.sh start DIR PORT   prints the URL on stdout
#   bench/pg_cluster.sh stop DIR
set -euo pipefail
cmd="$1"; dir="$2"
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bindir/initdb" ] || { echo "pg_cluster: no PostgreSQL server (apt-get install postgresql)" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id -u evergreen-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin evergreen-pg
    runuser -u evergreen-pg -- "$@"
  else
    "$@"
  fi
}
case "$cmd" in
  start)
    port="$3"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && { id -u evergreen-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin evergreen-pg; chown evergreen-pg "$dir"; }
    as_owner "$bindir/initdb" -D "$dir/data" -U evergreen --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
    as_owner sed -i '1i host all evergreen_pw 127.0.0.1/32 scram-sha-256' "$dir/data/pg_hba.conf"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null
    echo "postgresql://evergreen@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    ;;
esac
