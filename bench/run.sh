#!/usr/bin/env bash
# The benchmark (`npm run bench`, `npm run bench:large`): starts a throwaway Kafka broker on a free
# port, runs bench/main.ts against it (stubs and grantline are started by the benchmark itself),
# writes bench/results/<name>.json with its SVG charts and bench/results/README.md, and stops the
# broker however the run ends. Not part of `npm test`.
#
#   bash bench/run.sh                 10,000 tickets end to end (about 10-15 minutes on 2 cores)
#   bash bench/run.sh --large         bench:large: 100,000 tickets end to end, then the history
#                                     bench with 100,000 tickets (e2e-100k, history-100k)
#   bash bench/run.sh --tickets N     any other size; other flags go to bench/main.ts
#   bash bench/run.sh --history N     only the history bench: N tickets, 90% cancelled and revoked
#   bash bench/run.sh --adapter [--grants N]   grants/s through the PostgreSQL adapter (bench/adapter.ts)
#   bash bench/run.sh --evidence [--tickets N] `grantline evidence` at 1,000 and at N tickets (bench/evidence.ts)
#   GRANTLINE_KEEP_KAFKA_DATA=1       keep the broker's temporary data dir
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

die() {
  echo "bench/run.sh: $*" >&2
  exit 1
}

args=()
script=bench/main.ts
large=0
for a in "$@"; do
  if [[ "$a" == "--large" ]]; then large=1
  elif [[ "$a" == "--adapter" ]]; then script=bench/adapter.ts
  elif [[ "$a" == "--evidence" ]]; then script=bench/evidence.ts
  else args+=("$a"); fi
done
# One invocation of the benchmark per entry, on the same broker.
runs=()
if (( large )); then
  runs+=("--tickets 100000 --name e2e-100k" "--history 100000 --name history-100k")
else
  runs+=("")
fi

# Node >= 22.12 first on PATH (installs node@24 locally when the machine's node is older).
# shellcheck source=../scripts/node-env.sh
source scripts/node-env.sh
grantline_node_env || die "no supported Node.js"

# Java 17 and Maven for the broker (installed with apt-get as root when missing).
# shellcheck source=../scripts/system-deps.sh
source scripts/system-deps.sh
grantline_system_deps run || die "system packages are missing"

# Stops the throwaway broker however this script ends.
# shellcheck source=../dev/kafka/throwaway.sh
source dev/kafka/throwaway.sh

if [[ ! -d node_modules ]]; then
  echo "==> npm ci (node_modules is missing)"
  npm ci --no-audit --no-fund || die "npm ci failed"
fi

echo "==> fetch the Kafka broker jars (dev/kafka/fetch.sh)"
dev/kafka/fetch.sh || die "could not fetch the Kafka broker"

echo "==> start a Kafka broker on a free port"
throwaway_broker_start bench || die "the Kafka broker did not start"

if [[ "$script" == bench/adapter.ts ]]; then
  # The PostgreSQL adapter's benchmark needs the server the adapter tests use.
  # shellcheck source=../scripts/postgres.sh
  source scripts/postgres.sh
  grantline_postgres_up || die "PostgreSQL is not available on 127.0.0.1:5432"
fi

# --expose-gc: the memory measurement forces collections around loading the ticket states.
code=0
for run in "${runs[@]}"; do
  # shellcheck disable=SC2206 # the entries are fixed flag lists, split on purpose
  extra=($run)
  echo "==> benchmark $script ${extra[*]} ${args[*]} (KAFKA_BROKERS=$KAFKA_BROKERS)"
  node --expose-gc --import tsx "$script" "${extra[@]}" "${args[@]}" || code=$?
done
exit "$code"
