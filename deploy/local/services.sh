#!/usr/bin/env bash
# Run the aftersales service binaries locally, as background processes.
#
#   deploy/local/services.sh start [name...]   migrate, start, wait until SERVING, print endpoints
#   deploy/local/services.sh stop [name...]    SIGTERM, up to 10 s grace, then SIGKILL
#   deploy/local/services.sh status [name...]  pid and health of each
#
# Without names: every service. Needs `make build` (binaries in target/debug, or BIN_DIR)
# and `deploy/local/infra.sh up` (.run/infra.env). Logs: .run/logs/<name>.log (the previous
# run's log is kept as <name>.log.prev); pids: .run/pids/<name>.pid.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_DIR=$ROOT/.run
BIN_DIR=${BIN_DIR:-$ROOT/target/debug}
LOG_DIR=$RUN_DIR/logs
PID_DIR=$RUN_DIR/pids
HEALTH_DEADLINE=${HEALTH_DEADLINE:-60}   # seconds for every service to report SERVING
STOP_GRACE=10                            # seconds between SIGTERM and SIGKILL

# Start order: the platform sandbox and sla first, since the others call them.
SERVICES=(platform-sandbox sla logistics refunds returns repairs complaints satisfaction)

# Default gRPC ports (the binaries know them too); metrics listen on port + 1000.
declare -A PORT=(
  [platform-sandbox]=50050 [returns]=50051 [repairs]=50052 [refunds]=50053
  [complaints]=50054 [satisfaction]=50055 [sla]=50056 [logistics]=50057
)
LOGISTICS_WEBHOOK="http://127.0.0.1:8080/v1/carriers/{carrier}/events (partner dev-partner, secret in .run/partner.secret)"
SELECTED=()

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

rel() { echo "${1#"$ROOT"/}"; }
log_file() { echo "$LOG_DIR/$1.log"; }
pid_file() { echo "$PID_DIR/$1.pid"; }
grpc_url() { echo "http://127.0.0.1:${PORT[$1]}"; }
metrics_url() { echo "http://127.0.0.1:$(( PORT[$1] + 1000 ))/metrics"; }

# Pid of NAME when its pid file names a live process running that binary. The binary
# check keeps a recycled pid (after a reboot, say) from being reported or killed.
running_pid() {
  local name=$1 pid
  pid=$(cat "$(pid_file "$name")" 2>/dev/null) || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/cmdline ]]; then
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qx ".*/$name" || return 1
  fi
  echo "$pid"
}

# Just started by us: alive is enough. Its pid cannot have been reused yet, and until the
# launching subshell has exec'd the binary its command line is still this script's, so
# running_pid's command-line check would call a service that is starting dead.
alive() { # NAME
  local pid
  pid=$(cat "$(pid_file "$1")" 2>/dev/null) && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

healthy() { # NAME
  timeout 10 "$BIN_DIR/$1" healthcheck "$(grpc_url "$1")" >/dev/null 2>&1
}

show_log_tail() { # NAME
  log "last 30 lines of $(rel "$(log_file "$1")"):"
  tail -n 30 "$(log_file "$1")" >&2 || true
}

# SELECTED= the names from the command line, checked; every service when none given.
select_services() {
  local name
  (( $# )) || set -- "${SERVICES[@]}"
  for name in "$@"; do
    [[ -n ${PORT[$name]:-} ]] || die "unknown service '$name' (known: ${SERVICES[*]})"
  done
  SELECTED=("$@")
}

# The environment every service gets.
load_env() {
  [[ -f $RUN_DIR/infra.env ]] ||
    die "no .run/infra.env: run 'deploy/local/infra.sh up' first (or 'make run')"
  # shellcheck source=/dev/null
  . "$RUN_DIR/infra.env"
  export DATABASE_URL REDIS_URL

  # One dev signing secret shared by all services (and by `platform-sandbox token`),
  # generated once so tokens minted earlier stay valid across restarts.
  if [[ -z ${AUTH_JWT_SECRET:-} ]]; then
    local secret_file=$RUN_DIR/jwt.secret
    if [[ ! -s $secret_file ]]; then
      (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$secret_file")
      log "generated a dev JWT secret in $(rel "$secret_file")"
    fi
    AUTH_JWT_SECRET=$(<"$secret_file")
  fi
  export AUTH_JWT_SECRET
  export LOG_FORMAT=json

  export PLATFORM_URL=http://127.0.0.1:${PORT[platform-sandbox]}
  export SLA_URL=http://127.0.0.1:${PORT[sla]}
  export RETURNS_URL=http://127.0.0.1:${PORT[returns]}
  export REPAIRS_URL=http://127.0.0.1:${PORT[repairs]}
  export REFUNDS_URL=http://127.0.0.1:${PORT[refunds]}
  export COMPLAINTS_URL=http://127.0.0.1:${PORT[complaints]}
  export SATISFACTION_URL=http://127.0.0.1:${PORT[satisfaction]}
  export LOGISTICS_URL=http://127.0.0.1:${PORT[logistics]}

  # The carrier webhook and one dev partner allowed to report for the usual carriers,
  # with a secret generated once (sign with it as the README shows).
  export LOGISTICS_WEBHOOK_LISTEN=${LOGISTICS_WEBHOOK_LISTEN:-127.0.0.1:8080}
  if [[ -z ${LOGISTICS_PARTNERS:-} ]]; then
    local partner_file=$RUN_DIR/partner.secret
    if [[ ! -s $partner_file ]]; then
      (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$partner_file")
    fi
    LOGISTICS_PARTNERS="[{\"id\":\"dev-partner\",\"carriers\":[\"sf\",\"yto\",\"zto\",\"sto\",\"jd\",\"ems\"],\"secrets\":[\"$(<"$partner_file")\"]}]"
  fi
  export LOGISTICS_PARTNERS
}

print_table() { # NAMES...
  local name
  echo
  printf '%-17s %-24s %-32s %s\n' SERVICE GRPC METRICS LOG
  for name in "$@"; do
    printf '%-17s %-24s %-32s %s\n' "$name" "$(grpc_url "$name")" "$(metrics_url "$name")" \
      "$(rel "$(log_file "$name")")"
  done
  if [[ " $* " == *" logistics "* ]]; then
    echo "logistics carrier webhook (HTTP): $LOGISTICS_WEBHOOK"
  fi
  echo
  echo "Mint a dev token (signed with AUTH_JWT_SECRET):"
  if [[ -s $RUN_DIR/jwt.secret && $AUTH_JWT_SECRET == "$(<"$RUN_DIR/jwt.secret")" ]]; then
    echo "  export AUTH_JWT_SECRET=\$(cat .run/jwt.secret)"
  fi
  echo "  TOKEN=\$(target/debug/platform-sandbox token --role buyer --sub buyer-1)"
  echo "Call a service (server reflection):"
  echo "  grpcurl -plaintext 127.0.0.1:${PORT[returns]} list"
  echo "  grpcurl -plaintext -H \"authorization: Bearer \$TOKEN\" -d '{\"page_size\": 5}' \\"
  echo "    127.0.0.1:${PORT[returns]} aftersales.returns.v1.ReturnsService/ListReturns"
  echo "Stop everything: make stop"
}

cmd_start() {
  local names=() to_start=() name pid
  select_services "$@"
  names=("${SELECTED[@]}")
  load_env
  mkdir -p "$LOG_DIR" "$PID_DIR"

  for name in "${names[@]}"; do
    if pid=$(running_pid "$name"); then
      log "$name is already running (pid $pid); leaving it as it is"
      continue
    fi
    [[ -x $BIN_DIR/$name ]] || die "missing $(rel "$BIN_DIR/$name"): run 'make build' first"
    rm -f "$(pid_file "$name")"
    to_start+=("$name")
  done

  # Keep the previous run's log: it may hold the reason for the restart.
  for name in "${to_start[@]}"; do
    if [[ -s $(log_file "$name") ]]; then mv "$(log_file "$name")" "$(log_file "$name").prev"; fi
  done

  # Every schema is migrated before any service starts, so no service ever sees a peer's
  # (or its own) schema half-built. The sandbox has no database.
  for name in "${to_start[@]}"; do
    [[ $name != platform-sandbox ]] || continue
    log "migrating $name"
    if ! "$BIN_DIR/$name" migrate >>"$(log_file "$name")" 2>&1; then
      show_log_tail "$name"
      die "$name migrate failed"
    fi
  done

  for name in "${to_start[@]}"; do
    # setsid: a session of its own, so a Ctrl-C or a closed terminal after `make run`
    # does not reach the services; `make stop` is the way to stop them.
    setsid "$BIN_DIR/$name" >>"$(log_file "$name")" 2>&1 </dev/null &
    echo "$!" >"$(pid_file "$name")"
    log "started $name (pid $!)"
  done

  local pending=("${names[@]}") waiting deadline=$(( SECONDS + HEALTH_DEADLINE ))
  while (( ${#pending[@]} )); do
    waiting=()
    for name in "${pending[@]}"; do
      if ! alive "$name"; then
        show_log_tail "$name"
        rm -f "$(pid_file "$name")"
        die "$name exited during startup (the others keep running; 'make stop' stops them)"
      fi
      if healthy "$name"; then log "$name is serving"; else waiting+=("$name"); fi
    done
    pending=("${waiting[@]}")
    (( ${#pending[@]} )) || break
    if (( SECONDS >= deadline )); then
      for name in "${pending[@]}"; do show_log_tail "$name"; done
      die "not SERVING after ${HEALTH_DEADLINE}s: ${pending[*]} (the others keep running; 'make stop' stops them)"
    fi
    sleep 1
  done

  print_table "${names[@]}"
}

cmd_stop() {
  local names=() stopping=() left name pid i
  select_services "$@"
  names=("${SELECTED[@]}")
  for name in "${names[@]}"; do
    if pid=$(running_pid "$name"); then
      log "stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      stopping+=("$name")
    else
      rm -f "$(pid_file "$name")"
    fi
  done

  # All got SIGTERM at once above; give them STOP_GRACE seconds together to drain.
  for (( i = 0; i < STOP_GRACE * 5; i++ )); do
    left=()
    for name in "${stopping[@]}"; do
      if running_pid "$name" >/dev/null; then left+=("$name"); else rm -f "$(pid_file "$name")"; fi
    done
    stopping=("${left[@]}")
    (( ${#stopping[@]} )) || return 0
    sleep 0.2
  done
  for name in "${stopping[@]}"; do
    if pid=$(running_pid "$name"); then
      log "$name did not stop within ${STOP_GRACE}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pid_file "$name")"
  done
}

# Exit status 0 when every named service runs and reports SERVING.
cmd_status() {
  local names=() name pid state health rc=0
  select_services "$@"
  names=("${SELECTED[@]}")
  printf '%-17s %-16s %-12s %s\n' SERVICE STATE HEALTH GRPC
  for name in "${names[@]}"; do
    if pid=$(running_pid "$name"); then
      state="running $pid"
      if healthy "$name"; then health=SERVING; else health="not serving"; rc=1; fi
    else
      state=stopped health=- rc=1
    fi
    printf '%-17s %-16s %-12s %s\n' "$name" "$state" "$health" "$(grpc_url "$name")"
  done
  return "$rc"
}

case ${1:-} in
  start | stop | status)
    cmd=$1
    shift
    "cmd_$cmd" "$@"
    ;;
  *)
    echo "usage: $0 start|stop|status [service...]" >&2
    exit 2
    ;;
esac
