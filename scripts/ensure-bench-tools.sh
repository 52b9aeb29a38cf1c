#!/usr/bin/env bash
# The benchmarks' load generator (wrk), PostgreSQL's own yardstick (pgbench) and the pooler of
# the PgBouncer scenario, from Debian's packages when they are missing.
set -euo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v pgbench >/dev/null || missing+=(postgresql-contrib)
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} for the benchmarks" >&2
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
