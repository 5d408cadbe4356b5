#!/usr/bin/env bash
# PostgreSQL and Redis for `make run` and `make test`.
#
#   deploy/local/infra.sh up      make sure both answer; write .run/infra.env
#   deploy/local/infra.sh down    stop the private instances this checkout started
#   deploy/local/infra.sh env     print .run/infra.env (`eval "$(deploy/local/infra.sh env)"`)
#   deploy/local/infra.sh status  what runs, what .run/infra.env points at, does it answer
#   deploy/local/infra.sh clean   down, then delete the private data
#
# DATABASE_URL / REDIS_URL from the environment are used as they are when they answer.
# Otherwise a PRIVATE instance is started under .run/ on a private port (first tried:
# LOCAL_PG_PORT=55432, LOCAL_REDIS_PORT=56379; the next free port if taken), so a
# developer's own servers on 5432/6379 are never touched and test data never lands in them.
# Missing binaries are installed from Debian packages (`postgresql`, `redis-server`).
#
# What `down` may stop is recorded by the private instances themselves: the postmaster.pid
# in .run/pg/data and .run/redis/redis.pid. Servers reached through DATABASE_URL/REDIS_URL
# leave no such file, so `down` never stops them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN_DIR=$ROOT/.run
ENV_FILE=$RUN_DIR/infra.env
PG_LINK=$RUN_DIR/pg        # data/, sock/, postgres.log (a symlink in one case: see pg_home)
REDIS_DIR=$RUN_DIR/redis   # redis.pid, redis.log, port
DB_NAME=aftersales
WAIT_SECONDS=30

PG_BIN=    # directory holding initdb, pg_ctl, postgres, psql, pg_isready
PG_USER=   # OS user the server runs as; empty = the current user

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

# Hide the password part of a URL before printing it.
redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# Single-quote for a POSIX shell: make's /bin/sh sources infra.env too.
shquote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

pid_alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "root needed for: $* (and no sudo)"; fi
}

apt_install() {
  command -v apt-get >/dev/null || die "missing $*: install it with your package manager"
  log "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# True when something accepts TCP connections on HOST:PORT.
# shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
tcp_answers() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

# Without the client tools, "answers" can only mean "accepts TCP" on the URL's host:port.
url_tcp_answers() { # URL DEFAULT_PORT
  local hostport=${1#*://}
  hostport=${hostport%%[/?]*}
  hostport=${hostport##*@}
  if [[ $hostport == *:* ]]; then tcp_answers "${hostport%:*}" "${hostport##*:}"
  else tcp_answers "${hostport:-127.0.0.1}" "$2"; fi
}

# First port from $1 upwards that nothing listens on.
free_port() {
  local port=$1
  while tcp_answers 127.0.0.1 "$port"; do
    (( ++port < $1 + 100 )) || die "no free port in $1..$port"
  done
  echo "$port"
}

# Poll CHECK ARGS... until it returns 0. It returns 2 when the server died: fail at once;
# otherwise fail after WAIT_SECONDS. Either way show the server's log, which says why.
wait_until() { # NAME LOGFILE CHECK ARGS...
  local name=$1 logfile=$2 rc deadline=$(( SECONDS + WAIT_SECONDS ))
  shift 2
  while :; do
    "$@" && return 0 || rc=$?
    if (( rc == 2 )); then
      log "$name exited during startup; last lines of $logfile:"
    elif (( SECONDS >= deadline )); then
      log "$name did not answer within ${WAIT_SECONDS}s; last lines of $logfile:"
    else
      sleep 0.2
      continue
    fi
    tail -n 30 "$logfile" >&2 || true
    exit 1
  done
}

# ---------------------------------------------------------------- PostgreSQL

# initdb/pg_ctl are not on PATH on Debian (/usr/lib/postgresql/<major>/bin): take the one
# on PATH if any, else the newest major installed.
pg_bin_dir() {
  local dirs=() d p
  if p=$(command -v initdb); then dirs+=("$(dirname "$(readlink -f "$p")")"); fi
  mapfile -t -O ${#dirs[@]} dirs < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  for d in "${dirs[@]}"; do
    if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then echo "$d"; return 0; fi
  done
  return 1
}

ensure_pg_binaries() {
  PG_BIN=$(pg_bin_dir) && return 0
  apt_install postgresql
  PG_BIN=$(pg_bin_dir) || die "postgresql installed, yet no initdb/pg_ctl/postgres found"
}

# Postgres refuses to run as root, so as root it runs as the `postgres` OS user (made by
# the Debian package; created here when only the binaries are present).
ensure_pg_user() {
  [[ $(id -u) -eq 0 ]] || return 0
  PG_USER=postgres
  id -u postgres >/dev/null 2>&1 && return 0
  log "creating system user postgres"
  useradd --system --user-group --no-create-home --home-dir /var/lib/postgresql \
    --shell /usr/sbin/nologin postgres
}

# Run a command as PG_USER, from / so it never trips over an unreadable working directory.
as_pg() {
  if [[ -z $PG_USER ]]; then "$@"
  elif command -v runuser >/dev/null; then (cd / && runuser -u "$PG_USER" -- "$@")
  else (cd / && su -s /bin/sh "$PG_USER" -c "$(printf '%q ' "$@")"); fi
}

# The directory holding data/ and sock/, created on first use. The server must reach it as
# PG_USER: a checkout under /root (mode 700) is out of its reach, and a deep path overflows
# the 107-byte unix-socket limit. Then the data lives in /var/tmp and .run/pg is a symlink
# to it, so .run/ still names everything.
pg_home() {
  if [[ -e $PG_LINK ]]; then readlink -f "$PG_LINK"; return 0; fi
  mkdir -p "$PG_LINK"
  [[ -z $PG_USER ]] || chown "$PG_USER:" "$PG_LINK"
  if (( ${#PG_LINK} <= 80 )) && as_pg test -w "$PG_LINK"; then echo "$PG_LINK"; return 0; fi

  rmdir "$PG_LINK"
  local alt
  alt=/var/tmp/aftersales-pg-$(id -u)-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)
  mkdir -p "$alt"
  chmod 700 "$alt"
  [[ -z $PG_USER ]] || chown "$PG_USER:" "$alt"
  ln -s "$alt" "$PG_LINK"
  log "Postgres: $PG_LINK -> $alt (checkout not reachable by ${PG_USER:-us}, or path too long)"
  echo "$alt"
}

pg_init() { # HOME
  local home=$1
  log "Postgres: initdb in $home/data"
  as_pg mkdir -p "$home/sock"
  if ! as_pg "$PG_BIN/initdb" -D "$home/data" -U postgres --auth=trust -E UTF8 --locale=C \
      >"$home/initdb.log" 2>&1; then
    tail -n 30 "$home/initdb.log" >&2
    die "initdb failed (log: $home/initdb.log)"
  fi
  # Durable like production (fsync, full_page_writes and synchronous_commit on): the
  # benchmarks compare durable writes, and a commit here costs what it costs in a real
  # deployment (about 0.15 ms of fdatasync on this kind of disk).
  # max_connections: parallel integration tests each open a pool.
  cat >>"$home/data/postgresql.conf" <<'EOF'

# --- deploy/local/infra.sh: private dev/test server ---
listen_addresses = '127.0.0.1'
fsync = on
full_page_writes = on
synchronous_commit = on
max_connections = 200
EOF
}

# Port of the private server when it runs (from postmaster.pid line 4), else fail.
pg_running_port() { # HOME
  local data=$1/data
  [[ -n $PG_BIN && -f $data/postmaster.pid ]] || return 1
  as_pg "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1 || return 1
  sed -n 4p "$data/postmaster.pid"
}

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1" -U postgres; }

pg_answers() { # URL
  local psql
  psql=$(command -v psql) || psql=$(pg_bin_dir)/psql || psql=
  if [[ -x $psql ]]; then
    PGCONNECT_TIMEOUT=3 "$psql" "$1" -X -Atqc 'select 1' >/dev/null 2>&1
  else
    url_tcp_answers "$1" 5432
  fi
}

# Sets PG_URL.
pg_up() {
  if [[ -n ${DATABASE_URL:-} ]]; then
    if pg_answers "$DATABASE_URL"; then
      log "Postgres: using DATABASE_URL=$(redact "$DATABASE_URL") (answers)"
      PG_URL=$DATABASE_URL
      return 0
    fi
    log "Postgres: DATABASE_URL=$(redact "$DATABASE_URL") does not answer; using a private server"
  fi

  ensure_pg_binaries
  ensure_pg_user
  local home port
  home=$(pg_home)
  if port=$(pg_running_port "$home"); then
    log "Postgres: private server already running on 127.0.0.1:$port"
  else
    if [[ -f $home/data/PG_VERSION ]]; then
      local have want
      have=$(<"$home/data/PG_VERSION")
      want=$("$PG_BIN/postgres" --version | awk '{print $3}' | cut -d. -f1)
      [[ $have == "$want" ]] ||
        die "$home/data is PostgreSQL $have, binaries are $want: run 'make clean-run'"
    else
      pg_init "$home"
    fi
    port=$(free_port "${LOCAL_PG_PORT:-55432}")
    log "Postgres: starting private server on 127.0.0.1:$port"
    # pg_ctl -w notices a postmaster that dies at once (bad config, port race).
    if ! as_pg "$PG_BIN/pg_ctl" -D "$home/data" -l "$home/postgres.log" -w -t "$WAIT_SECONDS" \
        -o "-p $port -k '$home/sock'" start >/dev/null; then
      tail -n 30 "$home/postgres.log" >&2 || true
      die "Postgres did not start (log: $home/postgres.log)"
    fi
  fi
  wait_until Postgres "$home/postgres.log" pg_ready "$port"

  local psql=("$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres)
  if [[ $("${psql[@]}" -Atc "select 1 from pg_database where datname = '$DB_NAME'") != 1 ]]; then
    log "Postgres: creating database $DB_NAME"
    "${psql[@]}" -c "create database $DB_NAME"
  fi
  PG_URL=postgres://postgres@127.0.0.1:$port/$DB_NAME
}

pg_down() {
  [[ -e $PG_LINK ]] || return 0
  PG_BIN=$(pg_bin_dir) || return 0   # no binaries: nothing of ours can be running
  [[ $(id -u) -ne 0 ]] || PG_USER=postgres
  local home port
  home=$(readlink -f "$PG_LINK")
  if port=$(pg_running_port "$home"); then
    log "Postgres: stopping private server on 127.0.0.1:$port"
    as_pg "$PG_BIN/pg_ctl" -D "$home/data" -m fast -w -t 30 stop >/dev/null
  fi
}

# ---------------------------------------------------------------------- Redis

ensure_redis_binaries() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  apt_install redis-server
}

# Pid of the private redis-server when it runs (the pid check guards a recycled pid).
redis_running_pid() {
  local pid
  pid=$(cat "$REDIS_DIR/redis.pid" 2>/dev/null) || return 1
  pid_alive "$pid" || return 1
  [[ ! -r /proc/$pid/cmdline ]] || grep -qa redis-server "/proc/$pid/cmdline" || return 1
  echo "$pid"
}

redis_ready() { # PORT; 2 = the server died
  [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]] && return 0
  if [[ -f $REDIS_DIR/redis.pid ]] && ! redis_running_pid >/dev/null; then return 2; fi
  return 1
}

redis_answers() { # URL
  if command -v redis-cli >/dev/null; then
    [[ $(timeout 3 redis-cli --no-auth-warning -u "$1" ping 2>/dev/null) == PONG ]]
  else
    url_tcp_answers "$1" 6379
  fi
}

# Sets REDIS_URL_OUT.
redis_up() {
  if [[ -n ${REDIS_URL:-} ]]; then
    if redis_answers "$REDIS_URL"; then
      log "Redis: using REDIS_URL=$(redact "$REDIS_URL") (answers)"
      REDIS_URL_OUT=$REDIS_URL
      return 0
    fi
    log "Redis: REDIS_URL=$(redact "$REDIS_URL") does not answer; using a private server"
  fi

  ensure_redis_binaries
  mkdir -p "$REDIS_DIR"
  local port
  if redis_running_pid >/dev/null && port=$(cat "$REDIS_DIR/port" 2>/dev/null); then
    log "Redis: private server already running on 127.0.0.1:$port"
  else
    rm -f "$REDIS_DIR/redis.pid"   # stale: would read as "died" while the new one starts
    port=$(free_port "${LOCAL_REDIS_PORT:-56379}")
    echo "$port" >"$REDIS_DIR/port"
    log "Redis: starting private server on 127.0.0.1:$port"
    # Nothing on disk (DESIGN §1): Postgres is the truth and Redis state can be rebuilt.
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
      --dir "$REDIS_DIR"
  fi
  wait_until Redis "$REDIS_DIR/redis.log" redis_ready "$port"
  REDIS_URL_OUT=redis://127.0.0.1:$port
}

redis_down() {
  local pid i
  pid=$(redis_running_pid) || return 0
  log "Redis: stopping private server (pid $pid)"
  kill -TERM "$pid"
  for (( i = 0; i < 50; i++ )); do
    pid_alive "$pid" || break
    sleep 0.2
  done
  if pid_alive "$pid"; then
    log "Redis: still running after 10s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$REDIS_DIR/redis.pid"
}

# ------------------------------------------------------------------- commands

cmd_up() {
  local PG_URL REDIS_URL_OUT
  mkdir -p "$RUN_DIR"
  pg_up
  redis_up
  {
    echo "# written by deploy/local/infra.sh up; load with: . .run/infra.env"
    echo "export DATABASE_URL=$(shquote "$PG_URL")"
    echo "export REDIS_URL=$(shquote "$REDIS_URL_OUT")"
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  log "ready: DATABASE_URL=$(redact "$PG_URL") REDIS_URL=$(redact "$REDIS_URL_OUT") (in .run/infra.env)"
}

cmd_down() {
  pg_down
  redis_down
  rm -f "$ENV_FILE"   # it would point at servers that are gone; `up` writes it again
}

cmd_env() {
  [[ -f $ENV_FILE ]] || die "no $ENV_FILE: run 'deploy/local/infra.sh up' first"
  cat "$ENV_FILE"
}

# Exit status 0 when .run/infra.env exists and both of its URLs answer.
cmd_status() {
  local home port pid ok=0
  PG_BIN=$(pg_bin_dir) || PG_BIN=
  [[ $(id -u) -ne 0 ]] || PG_USER=postgres
  if [[ -e $PG_LINK ]] && home=$(readlink -f "$PG_LINK") && port=$(pg_running_port "$home"); then
    echo "private Postgres: running on 127.0.0.1:$port (data $home/data)"
  else
    echo "private Postgres: not running"
  fi
  if pid=$(redis_running_pid); then
    echo "private Redis:    running on 127.0.0.1:$(cat "$REDIS_DIR/port") (pid $pid)"
  else
    echo "private Redis:    not running"
  fi

  if [[ ! -f $ENV_FILE ]]; then
    echo ".run/infra.env:   missing (run 'deploy/local/infra.sh up')"
    return 1
  fi
  local DATABASE_URL REDIS_URL
  # shellcheck source=/dev/null
  . "$ENV_FILE"
  if pg_answers "$DATABASE_URL"; then echo "DATABASE_URL=$(redact "$DATABASE_URL")  answers"
  else echo "DATABASE_URL=$(redact "$DATABASE_URL")  NOT answering"; ok=1; fi
  if redis_answers "$REDIS_URL"; then echo "REDIS_URL=$(redact "$REDIS_URL")  answers"
  else echo "REDIS_URL=$(redact "$REDIS_URL")  NOT answering"; ok=1; fi
  return "$ok"
}

cmd_clean() {
  cmd_down
  if [[ -e $PG_LINK ]]; then
    log "deleting private Postgres data"
    rm -rf "$(readlink -f "$PG_LINK")"
    rm -rf "$PG_LINK"
  fi
  rm -rf "$REDIS_DIR"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  clean) cmd_clean ;;
  *)
    echo "usage: $0 up|down|env|status|clean" >&2
    exit 2
    ;;
esac
