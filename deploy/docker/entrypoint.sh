#!/bin/sh
# Container entrypoint: run the service binary named by $SERVICE with the container's
# arguments (`serve` by default, or `migrate`, or `healthcheck [url]`).
# `exec` replaces this shell, so the binary is PID 1 and receives SIGTERM itself.
set -eu

services="returns repairs refunds complaints satisfaction sla logistics platform-sandbox"

case "${SERVICE:-}" in
  returns | repairs | refunds | complaints | satisfaction | sla | logistics | platform-sandbox)
    exec "/usr/local/bin/$SERVICE" "$@"
    ;;
  "")
    echo "aftersales: SERVICE is not set; use --build-arg SERVICE=<name> or -e SERVICE=<name>," \
      "one of: $services" >&2
    ;;
  *)
    echo "aftersales: unknown SERVICE=$SERVICE; expected one of: $services" >&2
    ;;
esac
exit 64
