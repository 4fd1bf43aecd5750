#!/usr/bin/env bash
# The run command: installs support-agent, generates the demo store, serves the demo storefront
# with the chat widget at http://127.0.0.1:8000/ (and the API and chat socket).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
exec .venv/bin/support-agent serve --demo "$@"
