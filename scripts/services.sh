#!/usr/bin/env bash
# Start (or stop) throw-away PostgreSQL and Redis servers on 127.0.0.1 for the tests.
#   scripts/services.sh start DIR   -> prints shell exports for the test run
#   scripts/services.sh stop DIR
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user.
set -euo pipefail
cmd=$1 dir=$2
pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

case "$cmd" in
start)
  mkdir -p "$dir"
  chmod 755 "$dir"
  pgdata="$dir/pg"
  mkdir -p "$pgdata"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pgdata"
  pgport=$(free_port)
  as_pg "$pgbin/initdb" -D "$pgdata" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1
  as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $pgport -k $pgdata -F -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  "$pgbin/psql" -h 127.0.0.1 -p "$pgport" -U postgres -q -c 'CREATE DATABASE townhall_test' >/dev/null
  redisport=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redisport" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p "$redisport" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "export TOWNHALL_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$pgport/townhall_test"
  echo "export TOWNHALL_TEST_REDIS_URL=redis://127.0.0.1:$redisport/0"
  ;;
stop)
  if [ -f "$dir/redis.pid" ]; then kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; fi
  if [ -d "$dir/pg" ]; then as_pg "$pgbin/pg_ctl" -D "$dir/pg" -m immediate -w -t 30 stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
