#!/usr/bin/env bash
# Quick start on a fresh machine: shows grantline doing its job, end to end, on this machine.
#
#   bash scripts/run-local.sh [extra `grantline serve` options]
#
#  1. installs dependencies (npm ci) when node_modules is missing or stale;
#  2. fetches the Kafka broker jars from Maven Central (once) and starts a fresh single-node broker
#     on 127.0.0.1:9092 (data under .grantline/kafka, replaced on every run);
#  3. starts the demo (scripts/demo.ts), which runs local Jira and ServiceNow stubs on the ports of
#     the config's connectors (127.0.0.1:18080 and :18081);
#  4. starts `grantline serve --config examples/grantline.yaml` in the background on
#     127.0.0.1:8080, logging to .grantline/grantline.log;
#  5. the demo files access tickets in the stubs, delivers them signed to grantline's webhook
#     endpoints and prints what lands on the grant and rejection topics;
#  6. everything keeps running until Ctrl-C (or SIGTERM), which stops grantline gracefully, then
#     the stubs, then the broker.
#
# Needs Java 17 and Maven (Maven only until the broker jars are cached) and npm; Node 24 is fetched
# from the npm registry into .tools/node24 when the machine's node is older than 22.12.
# GRANTLINE_HTTP_PORT (8080) and KAFKA_PORT (9092) choose other ports; GRANTLINE_CONFIG another
# config file.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

http_port="${GRANTLINE_HTTP_PORT:-8080}"
kafka_port="${KAFKA_PORT:-9092}"
config="${GRANTLINE_CONFIG:-examples/grantline.yaml}"
state="$root/.grantline"
log="$state/grantline.log"
kafka_data="$state/kafka"
tsx="$root/node_modules/.bin/tsx"

say() { echo "run-local: $*"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# "java, pid 123" for a listening port, when ss can tell (only for our own processes).
holder() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/ (\1, pid \2)/p' | head -n 1
}
require_free() {
  local port="$1" what="$2" hint="$3"
  if port_in_use "$port"; then
    echo "run-local: 127.0.0.1:$port ($what) is already taken$(holder "$port"); stop that process or $hint." >&2
    exit 1
  fi
}

# Check every port before changing anything, so a clash costs nothing.
require_free "$kafka_port" "Kafka broker" "set KAFKA_PORT (a broker left by an earlier run stops with: bash dev/kafka/stop.sh --port $kafka_port)"
require_free "$http_port" "grantline HTTP" "set GRANTLINE_HTTP_PORT"
if [[ "$config" == "examples/grantline.yaml" ]]; then
  require_free 18080 "Jira stub of examples/grantline.yaml" "free the port"
  require_free 18081 "ServiceNow stub of examples/grantline.yaml" "free the port"
  require_free 18082 "JSON webhook source stub of examples/grantline.yaml" "free the port"
fi

# Node >= 22.12 first on PATH (installs node@24 locally when the machine's node is older).
# shellcheck source=./node-env.sh
source scripts/node-env.sh
grantline_node_env || exit 1

# Java 17 and Maven for the broker (installed with apt-get as root when missing).
# shellcheck source=./system-deps.sh
source scripts/system-deps.sh
grantline_system_deps run || exit 1

# npm records what it installed in node_modules/.package-lock.json; a newer package-lock.json
# means the install is stale.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

say "Kafka broker jars"
bash dev/kafka/fetch.sh

mkdir -p "$state"
gl_pid=""
demo_pid=""
broker_started=""

stop_pid() {
  local pid="$1" name="$2" budget="$3"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null && (( waited < budget * 4 )); do
    sleep 0.25
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name did not stop within ${budget}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  local rc=0
  wait "$pid" 2>/dev/null || rc=$?
  say "$name stopped (exit $rc)"
}

cleanup() {
  local rc=$?
  # A second Ctrl-C must not cut the cleanup short and leave the broker running.
  trap '' INT TERM HUP
  if [[ -n "$gl_pid$demo_pid$broker_started" ]]; then say "stopping (grantline may take up to 30 s to stop gracefully)"; fi
  # grantline first: its in-flight write-backs still need the stubs.
  stop_pid "$gl_pid" "grantline" 40
  stop_pid "$demo_pid" "demo and stubs" 10
  if [[ -n "$broker_started" ]]; then
    bash dev/kafka/stop.sh --port "$kafka_port" --data "$kafka_data" || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say "starting a fresh Kafka broker on 127.0.0.1:$kafka_port (data: .grantline/kafka)"
rm -rf "$kafka_data"
broker_started=yes
start_output="$(bash dev/kafka/start.sh --port "$kafka_port" --data "$kafka_data")"
echo "$start_output"
brokers="$(printf '%s\n' "$start_output" | sed -n 's/^KAFKA_BROKERS=//p' | tail -n 1)"
if [[ -z "$brokers" ]]; then
  say "dev/kafka/start.sh did not report the broker address" >&2
  exit 1
fi
export KAFKA_BROKERS="$brokers" GRANTLINE_HTTP_PORT="$http_port" GRANTLINE_CONFIG="$config"

# setsid: grantline and the demo leave the terminal's process group, so Ctrl-C reaches only this
# script, whose trap then stops them in order, each exactly once. tsx directly, not `npx tsx`: npm
# exec does not pass SIGTERM on to its child.
setsid "$tsx" scripts/demo.ts --config "$config" --url "http://127.0.0.1:$http_port" &
demo_pid=$!
# Let the stubs come up first, so grantline's first reconciliation poll finds them.
if [[ "$config" == "examples/grantline.yaml" ]]; then
  for _ in $(seq 1 120); do
    if port_in_use 18081 || ! kill -0 "$demo_pid" 2>/dev/null; then break; fi
    sleep 0.25
  done
fi

: >"$log"
say "starting grantline serve --config $config on http://127.0.0.1:$http_port (log: $log)"
setsid "$tsx" src/cli/main.ts serve --config "$config" "$@" >>"$log" 2>&1 </dev/null &
gl_pid=$!

# Runs until Ctrl-C, or until grantline or the demo stops on its own (which is a failure).
set +e
wait -n "$gl_pid" "$demo_pid"
set -e
if ! kill -0 "$gl_pid" 2>/dev/null; then
  rc=0
  wait "$gl_pid" 2>/dev/null || rc=$?
  gl_pid=""
  say "grantline exited on its own (exit $rc); the end of $log:" >&2
  tail -n 20 "$log" >&2
else
  say "the demo exited on its own; grantline's log is $log" >&2
fi
exit 1
