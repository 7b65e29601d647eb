#!/usr/bin/env bash
# The test command (`npm test`): installs dependencies, starts a throwaway Kafka broker on a free
# port, runs typecheck, lint and both vitest projects against it, and stops the broker however the
# run ends. Exits non-zero if any step failed.
#
#   GRANTLINE_SKIP_INSTALL=1   skip `npm ci` (quick local re-runs with node_modules in place)
#   GRANTLINE_KEEP_KAFKA_DATA=1 keep the broker's temporary data dir (printed) for inspection
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step_no=0
step() {
  step_no=$((step_no + 1))
  echo
  echo "==> [$step_no] $*"
}
die() {
  echo "test.sh: $*" >&2
  exit 1
}

# Node >= 22.12 first on PATH (installs node@24 locally when the machine's node is older).
# shellcheck source=./node-env.sh
source scripts/node-env.sh
grantline_node_env || die "no supported Node.js"

# Java 17 and Maven (broker), javac, openssl and Debian's python3 packages (tests); apt-get as root.
# shellcheck source=./system-deps.sh
source scripts/system-deps.sh
grantline_system_deps test || die "system packages are missing"

# A PostgreSQL server on 127.0.0.1:5432 for the PostgreSQL adapter's tests.
# shellcheck source=./postgres.sh
source scripts/postgres.sh

# Stops the throwaway broker however this script ends.
# shellcheck source=../dev/kafka/throwaway.sh
source dev/kafka/throwaway.sh

if [[ "${GRANTLINE_SKIP_INSTALL:-}" == "1" ]]; then
  step "npm ci (skipped: GRANTLINE_SKIP_INSTALL=1)"
else
  step "npm ci"
  npm ci --no-audit --no-fund || die "npm ci failed"
fi

step "fetch the Kafka broker jars (dev/kafka/fetch.sh)"
t0=$(date +%s)
dev/kafka/fetch.sh || die "could not fetch the Kafka broker"
echo "fetch took $(( $(date +%s) - t0 ))s"

step "start a Kafka broker on free ports (PLAINTEXT, and SASL_SSL and mTLS listeners for the security tests)"
t0=$(date +%s)
throwaway_broker_start test --secure || die "the Kafka broker did not start"
echo "broker start took $(( $(date +%s) - t0 ))s"

step "PostgreSQL on 127.0.0.1:5432 (scripts/postgres.sh)"
grantline_postgres_up || die "PostgreSQL is not available for the adapter tests"
pg_isready -h 127.0.0.1 -p 5432

failed=()

step "typecheck (npm run typecheck)"
npm run --silent typecheck || failed+=("typecheck")

step "lint (npm run lint)"
npm run --silent lint || failed+=("lint")

step "tests: vitest run (projects unit and integration, KAFKA_BROKERS=$KAFKA_BROKERS)"
report="$KAFKA_DATA_DIR/vitest-report.json"
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || failed+=("tests")
if [[ -f "$report" ]]; then
  # One plain closing line with the counts, whatever the reporter above printed.
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(`\nvitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  ' "$report" || true
fi

echo
if (( ${#failed[@]} > 0 )); then
  echo "test.sh: FAILED: ${failed[*]}"
  exit 1
fi
echo "test.sh: all steps passed"
