#!/usr/bin/env bash
# Quick start on a fresh machine: installs dependencies (when missing or stale), fetches and starts
# the local Kafka broker on 127.0.0.1:9092, then runs `grantline serve` with examples/grantline.yaml
# in the foreground. Ctrl-C (or SIGTERM) stops grantline gracefully; the broker keeps running
# (stop it with `dev/kafka/stop.sh --port 9092`).
#
#   bash scripts/run-local.sh [extra serve options, e.g. --role ingress]
#
# Needs Node 20, Java 17 and Maven (for the broker jars, fetched once from Maven Central).
# GRANTLINE_HTTP_PORT (default 8080) chooses the HTTP port; GRANTLINE_CONFIG another config file.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# npm records what it installed in node_modules/.package-lock.json; a newer package-lock.json
# means the install is stale.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "run-local: installing dependencies (npm ci)"
  npm ci
fi

echo "run-local: Kafka broker jars"
bash dev/kafka/fetch.sh

echo "run-local: starting the Kafka broker on 127.0.0.1:9092"
start_output="$(bash dev/kafka/start.sh --port 9092)"
echo "$start_output"
brokers="$(printf '%s\n' "$start_output" | sed -n 's/^KAFKA_BROKERS=//p' | tail -n 1)"
if [[ -z "$brokers" ]]; then
  echo "run-local: dev/kafka/start.sh did not report the broker address" >&2
  exit 1
fi
export KAFKA_BROKERS="$brokers"

config="${GRANTLINE_CONFIG:-examples/grantline.yaml}"
echo "run-local: grantline serve --config $config (health: http://127.0.0.1:${GRANTLINE_HTTP_PORT:-8080}/readyz)"
# tsx directly, not `npx tsx`: npm exec does not pass SIGTERM on to its child, so a `kill` of this
# script's pid would leave grantline running instead of stopping it gracefully.
exec "$root/node_modules/.bin/tsx" src/cli/main.ts serve --config "$config" "$@"
