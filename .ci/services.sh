#!/usr/bin/env bash
# Throw-away PostgreSQL and Redis on loopback for the cluster tests (Debian packages postgresql and
# redis-server). `start` prints the variables the tests read, so use it as
#   eval "$(.ci/services.sh start)"
# and `stop` shuts both down and deletes their data. Works as root (PostgreSQL then runs as the
# postgres user) or as an ordinary user.
set -euo pipefail

dir="${CIPHERCHAT_SERVICES_DIR:-${TMPDIR:-/tmp}/cipherchat-services}"
pg_port="${CIPHERCHAT_SERVICES_PG_PORT:-55432}"
redis_port="${CIPHERCHAT_SERVICES_REDIS_PORT:-56379}"

pg_bin() {
  local version
  version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$version" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
  echo "/usr/lib/postgresql/$version/bin"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local bin
  bin="$(pg_bin)"
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/pg/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/pg" -U cipherchat -A trust -E UTF8 >"$dir/initdb.log" 2>&1
  fi
  if ! as_pg "$bin/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -t 60 \
      -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c max_connections=200" start >/dev/null
  fi
  if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U cipherchat -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'cipherchat_test'" | grep -q 1; then
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$pg_port" -U cipherchat cipherchat_test
  fi

  if ! redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi

  echo "export CIPHERCHAT_TEST_POSTGRES='Host=127.0.0.1;Port=$pg_port;Username=cipherchat;Database=cipherchat_test'"
  echo "export CIPHERCHAT_TEST_REDIS='127.0.0.1:$redis_port'"
}

stop() {
  local bin
  bin="$(pg_bin)"
  redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  if [ -f "$dir/pg/PG_VERSION" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
