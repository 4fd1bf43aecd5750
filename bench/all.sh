#!/usr/bin/env bash
# Issue #11's load runs on this machine, as one Markdown table (about 8-10 minutes):
# 1 worker on SQLite and 2 workers on PostgreSQL + Redis, saturation and 200 realistic
# customers each (bench/suite.py). Run it on a quiet machine. Arguments go to bench.suite
# (--only sqlite|postgres, --json, --data-dir DIR to reuse a prepared data dir).
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
if [[ " $* " != *" --only sqlite "* ]]; then
  bash scripts/services.sh >/dev/null
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exec .venv/bin/python -m bench.suite "$@"
