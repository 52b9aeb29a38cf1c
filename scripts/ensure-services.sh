#!/usr/bin/env bash
# Start PostgreSQL and Redis on 127.0.0.1 when they are not running; fail loudly when they
# cannot be started. The tests never skip for a missing server: they need these two.
set -euo pipefail
PG_HOST=${TEST_PG_HOST:-127.0.0.1}
PG_PORT=${TEST_PG_PORT:-5432}
REDIS_PORT=${TEST_REDIS_PORT:-6379}

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  echo "PostgreSQL is down; starting it" >&2
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "FATAL: PostgreSQL is not running on $PG_HOST:$PG_PORT and could not be started" >&2; exit 1; }
fi

if ! redis_up; then
  echo "Redis is down; starting it" >&2
  command -v redis-server >/dev/null && \
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no || true
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
  redis_up || { echo "FATAL: Redis is not running on 127.0.0.1:$REDIS_PORT and could not be started" >&2; exit 1; }
fi
echo "PostgreSQL and Redis are up"
