#!/usr/bin/env bash
# `make bench-sla`: the SLA timer service against BullMQ delayed jobs (issue 4, Benchmark).
#
# Runs, on the same Postgres and Redis, aftersales-sla (tests/load/sla-bench) single and
# batch with one replica and with two, and BullMQ (tests/load/bullmq) single and bulk,
# interleaved so that every aftersales-sla run has a BullMQ single run next to it:
#   sla single x1, bullmq single, sla batch x1, bullmq bulk, sla single x2, bullmq single,
#   sla batch x2
# (this machine's speed drifts over minutes, for both systems alike, so a ratio is taken
# against the nearest run of the peer), then prints the side-by-side table, the ratios
# and the targets (PASS/FAIL). It exits 0 whatever the figures: a benchmark reports, it
# does not gate.
#
# Overrides (environment), for a quick run e.g. BENCH_TIMERS=5000:
#   BENCH_TIMERS=100000   timers (jobs) per run
#   BENCH_WINDOW=20s      the due times are spread evenly over this window...
#   BENCH_LEAD=30s        ...which starts this long after scheduling starts
#   BENCH_GRACE=30s       wait this long after the window for stragglers (then: missing)
#   BENCH_CONCURRENCY=256 calls in flight in single mode, for both systems (a shared timer
#                         service is called by many request handlers at once; with the
#                         earlier tonic-based generator 64 gave the service 0.39-0.46x
#                         BullMQ's rate and 256 0.73-0.79x; with the h2 one 256 gives
#                         0.97-1.07x and 1024 1.4x, BullMQ's rate unchanged)
#   BENCH_CHANNELS=4      HTTP/2 connections the calls are spread over
#   BENCH_BATCH=500       timers per BatchScheduleTimers / addBulk call
#   BENCH_BATCH_CONCURRENCY=8  batch calls in flight (8 x 500 keeps 2 cores busy)
#   BENCH_NO_BUILD=1     use the release binaries already built (to compare two builds)
#   BENCH_RUNS="sla-single-1 bullmq-single sla-batch-1 bullmq-bulk sla-single-2 bullmq-single sla-batch-2"
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

TIMERS=${BENCH_TIMERS:-100000}
WINDOW=${BENCH_WINDOW:-20s}
LEAD=${BENCH_LEAD:-30s}
GRACE=${BENCH_GRACE:-30s}
CONCURRENCY=${BENCH_CONCURRENCY:-256}
CHANNELS=${BENCH_CHANNELS:-4}
BATCH=${BENCH_BATCH:-500}
BATCH_CONCURRENCY=${BENCH_BATCH_CONCURRENCY:-8}
RUNS=${BENCH_RUNS:-sla-single-1 bullmq-single sla-batch-1 bullmq-bulk sla-single-2 bullmq-single sla-batch-2}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT_DIR=.run/bench

log() { printf '[bench-sla] %s\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else log "root needed for: $*"; return 1; fi
}

# ---- prerequisites -------------------------------------------------------------------

bash deploy/local/infra.sh up
# shellcheck source=/dev/null
. .run/infra.env

# The replicas and the bench must share the secret; a dev one is fine for a local bench.
if [[ -z ${AUTH_JWT_SECRET:-} ]]; then
  if [[ -s .run/jwt.secret ]]; then AUTH_JWT_SECRET=$(cat .run/jwt.secret)
  else AUTH_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'); fi
fi
export AUTH_JWT_SECRET

if [[ -z ${BENCH_NO_BUILD:-} ]]; then
  log "cargo build --release -p sla -p sla-bench"
  cargo build --release -p sla -p sla-bench
fi

# Node for the BullMQ peer (and the report); installed like infra.sh installs Postgres.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "installing Debian packages: nodejs npm"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [[ ! -d tests/load/bullmq/node_modules ]]; then
  log "npm install --prefix tests/load/bullmq"
  npm install --prefix tests/load/bullmq --no-audit --no-fund
fi

# ---- the runs ------------------------------------------------------------------------

mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=$OUT_DIR/sla-bench-$STAMP.jsonl
: >"$RESULTS"
COMMON=(--timers "$TIMERS" --window "$WINDOW" --lead "$LEAD" --grace "$GRACE" --batch "$BATCH")
SLA_ONLY=(--channels "$CHANNELS")

# Runs one measurement; its human line goes to the terminal, its JSON line to $RESULTS.
# A failed run is reported and skipped, so the others still produce figures.
run() { # NAME COMMAND...
  local name=$1 out
  shift
  log "run $name: $*"
  out=$(mktemp)
  if "$@" | tee "$out"; then
    grep '^{"system"' "$out" >>"$RESULTS" || log "run $name printed no result line"
  else
    log "run $name FAILED (exit ${PIPESTATUS[0]}); see the lines above and $OUT_DIR/*.log"
  fi
  rm -f "$out"
}

sla() { # REPLICAS MODE
  local conc=$CONCURRENCY
  [[ $2 == batch ]] && conc=$BATCH_CONCURRENCY
  run "sla-$2-$1" "$TARGET_DIR/release/sla-bench" --sla-bin "$TARGET_DIR/release/sla" \
    --log-dir "$OUT_DIR" --replicas "$1" --mode "$2" --concurrency "$conc" "${COMMON[@]}" "${SLA_ONLY[@]}"
}

bullmq() { # MODE
  local conc=$CONCURRENCY
  [[ $1 == bulk ]] && conc=$BATCH_CONCURRENCY
  run "bullmq-$1" node tests/load/bullmq/bench.mjs --mode "$1" --concurrency "$conc" "${COMMON[@]}"
}

for r in $RUNS; do
  case $r in
    sla-single-1) sla 1 single ;;
    sla-batch-1) sla 1 batch ;;
    sla-single-2) sla 2 single ;;
    sla-batch-2) sla 2 batch ;;
    bullmq-single) bullmq single ;;
    bullmq-bulk) bullmq bulk ;;
    *) log "unknown run $r (skipped)" ;;
  esac
done

log "results: $RESULTS"
node tests/load/report.mjs "$RESULTS"
exit 0
