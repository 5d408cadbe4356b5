#!/usr/bin/env bash
# `make bench-ingest`: the suite's write paths at a fixed concurrency, each against pgbench
# running the raw SQL of an equivalent write (row insert + outbox insert) at the same
# concurrency on the same Postgres, in the same run:
#   webhook        carrier events into the logistics webhook (issue 7)
#   create-return  CreateReturn over gRPC (issue 5; target: at least 50 % of the raw TPS)
#   create-complaint  CreateComplaint over gRPC (issue 24; target: at least 50 %)
#
# Overrides: BENCH_MODES="webhook create-return create-complaint" BENCH_REQUESTS=20000 BENCH_CONCURRENCY=32
#            BENCH_SHIPMENTS=1000 BENCH_PGBENCH_SECONDS=10
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT_DIR=.run/bench
log() { printf '[bench-ingest] %s\n' "$*" >&2; }

bash deploy/local/infra.sh up
# shellcheck source=/dev/null
. .run/infra.env
export DATABASE_URL REDIS_URL
if [[ -z ${AUTH_JWT_SECRET:-} ]]; then
  AUTH_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
fi
export AUTH_JWT_SECRET

if ! command -v pgbench >/dev/null; then
  log "pgbench missing: installing postgresql-contrib"
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-contrib >/dev/null
fi

log "cargo build --release -p logistics -p returns -p complaints -p sla -p platform-sandbox -p ingest-bench"
cargo build --release -p logistics -p returns -p complaints -p sla -p platform-sandbox -p ingest-bench

mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/ingest-bench-$(date +%Y%m%d-%H%M%S).jsonl
: >"$RESULTS"
status=0
for mode in ${BENCH_MODES:-webhook create-return create-complaint}; do
  log "run $mode"
  out=$(mktemp)
  if "$TARGET_DIR/release/ingest-bench" "$mode" --bin-dir "$TARGET_DIR/release" \
    --requests "${BENCH_REQUESTS:-20000}" --concurrency "${BENCH_CONCURRENCY:-32}" \
    --shipments "${BENCH_SHIPMENTS:-1000}" --pgbench-seconds "${BENCH_PGBENCH_SECONDS:-10}" | tee "$out"; then
    :
  else
    log "run $mode FAILED"
    status=1
  fi
  grep '^{"system"' "$out" >>"$RESULTS" || true
  rm -f "$out"
done
log "results: $RESULTS"
exit $status
