#!/usr/bin/env bash
# What the tests need before they start; fails loudly, the tests never skip for a missing server.
#
# PostgreSQL: the server at TEST_PG_HOST:TEST_PG_PORT (127.0.0.1:5432) is started when it is
# down: with pg_ctl on $PGDATA when it is set, else with Debian's pg_ctlcluster when there is
# one, else with pg_ctl on the first data folder found in the usual places. With TEST_PG=throwaway the tests make a cluster of
# their own in a temporary directory, so initdb and pg_ctl only have to be installed.
# Redis: the tests start their own throwaway redis-server, so it only has to be installed.
set -euo pipefail
PG_HOST=${TEST_PG_HOST:-127.0.0.1}
PG_PORT=${TEST_PG_PORT:-5432}

# A program on PATH, in the usual places, or in PostgreSQL's versioned folders (newest first).
find_bin() {
  local name=$1 dir
  if command -v "$name" 2>/dev/null; then return 0; fi
  for dir in /usr/bin /usr/local/bin /opt/homebrew/bin /usr/sbin \
    $(ls -d /usr/lib/postgresql/*/bin /usr/pgsql-*/bin /opt/homebrew/opt/postgresql*/bin \
      /usr/local/opt/postgresql*/bin /usr/local/pgsql/bin 2>/dev/null | sort -rV); do
    if [ -x "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
  done
  return 1
}

fatal() { echo "FATAL: $*" >&2; exit 1; }

REDIS_SERVER=$(find_bin redis-server) ||
  fatal "redis-server is not installed; the tests start their own (Debian: apt-get install redis-server; macOS: brew install redis)"

if [ "${TEST_PG:-system}" = throwaway ]; then
  find_bin initdb >/dev/null && find_bin pg_ctl >/dev/null ||
    fatal "TEST_PG=throwaway needs initdb and pg_ctl (PostgreSQL's server package)"
  echo "Redis ($REDIS_SERVER) and PostgreSQL (a throwaway cluster per test run) will be started by the tests"
  exit 0
fi

pg_up() {
  local isready
  if isready=$(find_bin pg_isready); then
    "$isready" -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null
  else
    (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
  fi
}

# pg_ctl on a data folder, as the folder's owner when we are root (PostgreSQL refuses root).
start_with_pg_ctl() {
  local pg_ctl data owner
  pg_ctl=$(find_bin pg_ctl) || fatal "PostgreSQL is down and pg_ctl is not installed"
  data=${PGDATA:-}
  if [ -z "$data" ]; then
    for candidate in /var/lib/postgresql/*/main /var/lib/pgsql/data /var/lib/postgres/data \
      /opt/homebrew/var/postgresql* /usr/local/var/postgresql* /usr/local/var/postgres; do
      if [ -f "$candidate/PG_VERSION" ]; then data=$candidate; break; fi
    done
  fi
  [ -n "$data" ] ||
    fatal "PostgreSQL is down and no data folder was found: set PGDATA, start it yourself, or run with TEST_PG=throwaway"
  echo "starting PostgreSQL with $pg_ctl -D $data" >&2
  if [ "$(id -u)" = 0 ]; then
    owner=$(stat -c %U "$data" 2>/dev/null || stat -f %Su "$data")
    runuser -u "$owner" -- "$pg_ctl" -D "$data" -l "$data/ensure-services.log" -w start || true
  else
    "$pg_ctl" -D "$data" -l "$data/ensure-services.log" -w start || true
  fi
}

if ! pg_up; then
  echo "PostgreSQL is down; starting it" >&2
  if [ -z "${PGDATA:-}" ] && command -v pg_ctlcluster >/dev/null && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  else
    start_with_pg_ctl
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || fatal "PostgreSQL is not running on $PG_HOST:$PG_PORT and could not be started"
fi
echo "PostgreSQL is up on $PG_HOST:$PG_PORT; Redis ($REDIS_SERVER) will be started by the tests"
