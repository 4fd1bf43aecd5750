#!/usr/bin/env bash
# The test command: installs what the tests need, starts their services, runs the whole suite.
# The suite runs once on SQLite; the tests that touch the database (marker `db`) run again on
# PostgreSQL. The two passes run at the same time, on the two cores (one after the other they
# took 25 of CI's 30 minutes); they share nothing: each test has its own data dir, the
# PostgreSQL pass its own database, Redis users their own key prefix. The PostgreSQL pass's
# output is printed when both are done; the command fails if either pass fails.
# SUPPORT_TEST_SERIAL=1 runs them one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/services.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
pytest=(.venv/bin/python -m pytest -q -p no:cacheprovider)

if [ -n "${SUPPORT_TEST_SERIAL:-}" ]; then
  "${pytest[@]}" "$@"
  echo "==> the tests that touch the database, again on PostgreSQL"
  SUPPORT_TEST_DATABASE=postgres exec "${pytest[@]}" -m db "$@"
fi

pg_log="$(mktemp -t support-agent-pg.XXXXXX)"
trap 'kill "${pg_pid:-}" 2>/dev/null || true; rm -f "$pg_log"' EXIT
echo "==> the tests that touch the database run again on PostgreSQL meanwhile (shown at the end)"
SUPPORT_TEST_DATABASE=postgres "${pytest[@]}" -m db "$@" >"$pg_log" 2>&1 &
pg_pid=$!
set +e
"${pytest[@]}" "$@"
sqlite_rc=$?
wait "$pg_pid"
pg_rc=$?
set -e
echo "==> the tests that touch the database, again on PostgreSQL"
cat "$pg_log"
echo "==> SQLite pass exit ${sqlite_rc}, PostgreSQL pass exit ${pg_rc}"
[ "$sqlite_rc" -eq 0 ] && [ "$pg_rc" -eq 0 ]
