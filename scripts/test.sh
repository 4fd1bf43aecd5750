#!/usr/bin/env bash
# The test command: installs what the tests need, starts their services, runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/services.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
echo "==> the tests that touch the database, again on PostgreSQL"
SUPPORT_TEST_DATABASE=postgres exec .venv/bin/python -m pytest -q -p no:cacheprovider -m db "$@"
