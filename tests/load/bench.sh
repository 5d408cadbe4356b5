#!/usr/bin/env bash
# The benchmarks `make bench` runs after bench-sla: each prints its own table with a
# reference measured in the same run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bash "$ROOT/tests/load/ingest-bench.sh"
