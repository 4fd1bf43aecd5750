#!/usr/bin/env bash
# The run command: installs support-agent, generates the demo store, serves the demo storefront
# with the chat widget at http://127.0.0.1:8000/ (and the API and chat socket).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
# torch's OpenMP workers spin while idle unless told not to; fewer malloc arenas keep RSS down
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec .venv/bin/support-agent serve --demo "$@"
