#!/usr/bin/env bash
# `make bench-webhook`: the logistics carrier webhook (issue 7). Signed carrier events
# posted at a fixed concurrency over keep-alive connections, against pgbench running the
# equivalent raw transaction (event insert + outbox insert) at the same concurrency on the
# same Postgres, in the same run. Prints events/s, latency, loss, the TPS and the ratio.
#
# Overrides: BENCH_EVENTS=20000 BENCH_CONCURRENCY=32 BENCH_SHIPMENTS=1000 BENCH_PGBENCH_SECONDS=10
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT_DIR=.run/bench
log() { printf '[bench-webhook] %s\n' "$*" >&2; }

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

log "cargo build --release -p logistics -p webhook-bench"
cargo build --release -p logistics -p webhook-bench

mkdir -p "$OUT_DIR"
RESULTS=$OUT_DIR/webhook-bench-$(date +%Y%m%d-%H%M%S).jsonl
"$TARGET_DIR/release/webhook-bench" --logistics-bin "$TARGET_DIR/release/logistics" \
  --events "${BENCH_EVENTS:-20000}" --concurrency "${BENCH_CONCURRENCY:-32}" \
  --shipments "${BENCH_SHIPMENTS:-1000}" --pgbench-seconds "${BENCH_PGBENCH_SECONDS:-10}" \
  | tee >(grep '^{"system"' >"$RESULTS")
log "results: $RESULTS"
