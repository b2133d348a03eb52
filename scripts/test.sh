#!/usr/bin/env bash
# `make test`: lint and type-check, then the whole suite on SQLite and on PostgreSQL.
# PostgreSQL and Redis are started on 127.0.0.1 in a temporary folder and always stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

echo "== lint"
$BIN/ruff format --check src tests bench
$BIN/ruff check src tests bench
echo "== mypy"
$BIN/mypy

services=$(mktemp -d /tmp/townhall-services.XXXXXX)
trap 'bash scripts/services.sh stop "$services"' EXIT
eval "$(bash scripts/services.sh start "$services")"
export TOWNHALL_TEST_REDIS_URL

echo "== pytest on SQLite"
$BIN/pytest -q
echo "== pytest on PostgreSQL"
TOWNHALL_TEST_DATABASE_URL=$TOWNHALL_TEST_POSTGRES_URL $BIN/pytest -q
