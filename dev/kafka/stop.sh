#!/usr/bin/env bash
# Stops the broker that start.sh started on a port: SIGTERM (a clean shutdown), then SIGKILL after
# a timeout. Removes the pid file, keeps the data. Stopping a stopped broker is harmless.
#
#   dev/kafka/stop.sh [--port N] [--data DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${KAFKA_PORT:-9092}"
data=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="${2:?--port needs a value}"; shift 2 ;;
    --port=*) port="${1#--port=}"; shift ;;
    --data) data="${2:?--data needs a value}"; shift 2 ;;
    --data=*) data="${1#--data=}"; shift ;;
    -h|--help) sed -n '2,6p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "stop.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [[ -z "$data" && -f "$here/run/ports/$port" ]]; then
  data="$(cat "$here/run/ports/$port")"
fi
data="${data:-$here/run/$port}"
pidfile="$data/kafka.pid"

if [[ ! -f "$pidfile" ]]; then
  echo "stop.sh: no broker running on port $port"
  exit 0
fi
pid="$(cat "$pidfile")"
# Only signal the process if it still is our broker: a stale pid may belong to something else now.
if ! [[ -r "/proc/$pid/cmdline" ]] || ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka'; then
  echo "stop.sh: broker on port $port was not running (stale pid file removed)"
  rm -f "$pidfile"
  exit 0
fi

kill -TERM "$pid" 2>/dev/null || true
timeout_s="${KAFKA_STOP_TIMEOUT:-30}"
deadline=$(( $(date +%s) + timeout_s ))
while kill -0 "$pid" 2>/dev/null; do
  if (( $(date +%s) >= deadline )); then
    echo "stop.sh: broker (pid $pid) still running after ${timeout_s}s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
# A killed process can linger as a zombie for a moment; wait until /proc no longer shows it running.
for _ in $(seq 1 50); do
  [[ -d "/proc/$pid" ]] && [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]] || break
  sleep 0.1
done
rm -f "$pidfile"
echo "stop.sh: broker on port $port stopped"
