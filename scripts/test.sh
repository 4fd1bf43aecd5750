#!/usr/bin/env bash
# The test command: installs what the tests need, starts their services, runs the whole suite.
# The suite runs once on SQLite; the tests that touch the database (marker `db`) run again on
# PostgreSQL. Both cores are kept busy: the SQLite pass is cut into three groups of about equal
# time (pytest-split, from the per-test times in tests/.test_durations); one lane runs groups 1
# and 2 one after the other, the other runs the PostgreSQL pass (about one group's time) and then
# group 3. (The SQLite pass in one piece beside the PostgreSQL pass took 26 of CI's 30 minutes on
# a slow host while the PostgreSQL pass was done after 12. More groups cost more than they
# balance: each pytest process collects the suite and builds its session fixtures, the demo data
# dir among them, about a minute.) The processes share nothing: each test has its own data dir,
# the PostgreSQL pass its own database, Redis users their own key prefix. The second lane's
# output is printed when both are done; the command fails if any group fails.
#   bash scripts/test.sh tests/agent          # arguments: one SQLite run of just those, then
#                                             # their database tests on PostgreSQL
#   SUPPORT_TEST_SERIAL=1 bash scripts/test.sh   # the two passes, whole, one after the other
# The times in tests/.test_durations are as measured with two groups running at once
# (docs/benchmarks.md, "The test command's wall time"); a new test counts at the average. After
# adding or removing many tests, refresh them from a full run in one process
#   .venv/bin/python -m pytest -q -p no:cacheprovider --store-durations \
#       --durations-path tests/.test_durations
# and scale each group's tests by its time under load over its estimate, as that section did.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/services.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
pytest=(.venv/bin/python -m pytest -q -p no:cacheprovider)

if [ -n "${SUPPORT_TEST_SERIAL:-}" ] || [ "$#" -gt 0 ]; then
  set +e
  "${pytest[@]}" "$@"
  sqlite_rc=$?
  echo "==> the tests that touch the database, again on PostgreSQL"
  SUPPORT_TEST_DATABASE=postgres "${pytest[@]}" -m db "$@"
  pg_rc=$?
  set -e
  echo "==> SQLite pass exit ${sqlite_rc}, PostgreSQL pass exit ${pg_rc}"
  [ "$sqlite_rc" -eq 0 ] && [ "$pg_rc" -eq 0 ]
  exit
fi

groups=3
group() {
  "${pytest[@]}" --splits "$groups" --group "$1" --durations-path tests/.test_durations
}

lane_log="$(mktemp -t support-agent-lane.XXXXXX)"
lane_rc="$(mktemp -t support-agent-lane-rc.XXXXXX)"
trap 'kill "${lane_pid:-}" 2>/dev/null || true; rm -f "$lane_log" "$lane_rc"' EXIT
echo "==> lane 2 (shown at the end): the database tests on PostgreSQL, then SQLite group ${groups}"
(
  set +e
  echo "==> the tests that touch the database, on PostgreSQL"
  SUPPORT_TEST_DATABASE=postgres "${pytest[@]}" -m db
  pg=$?
  echo "==> SQLite group ${groups} of ${groups}"
  group "$groups"
  last=$?
  echo "$pg $last" >"$lane_rc"
) >"$lane_log" 2>&1 &
lane_pid=$!

set +e
codes=()
for g in $(seq 1 $((groups - 1))); do
  echo "==> SQLite group ${g} of ${groups}"
  group "$g"
  codes+=("$?")
done
wait "$lane_pid"
set -e
cat "$lane_log"
read -r pg_rc last_rc <"$lane_rc" || { pg_rc=1; last_rc=1; }
codes+=("$last_rc")
echo "==> SQLite groups exit ${codes[*]}, PostgreSQL pass exit ${pg_rc}"
for rc in "${codes[@]}" "$pg_rc"; do
  [ "$rc" -eq 0 ] || exit 1
done
