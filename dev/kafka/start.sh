#!/usr/bin/env bash
# Starts a single-node KRaft Kafka broker in the background on 127.0.0.1.
#
#   dev/kafka/start.sh [--port N] [--data DIR]
#
# Port: --port, else $KAFKA_PORT, else 9092. The controller port is chosen free automatically and
# kept with the data. Data dir: --data, else the dir this port used last, else dev/kafka/run/<port>.
# The data dir holds the KRaft log, server.properties, kafka.pid and logs/server.log, and survives
# stop.sh, so topics persist across a stop/start. Prints KAFKA_BROKERS=127.0.0.1:<port> when the
# broker is up. Starting a broker that already runs on that port says so and exits 0.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$here/target/lib"

port="${KAFKA_PORT:-9092}"
data=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="${2:?--port needs a value}"; shift 2 ;;
    --port=*) port="${1#--port=}"; shift ;;
    --data) data="${2:?--data needs a value}"; shift 2 ;;
    --data=*) data="${1#--data=}"; shift ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "start.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
if ! [[ "$port" =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
  echo "start.sh: bad port: $port" >&2
  exit 2
fi

# Which data dir a port used last, so stop.sh and a later start.sh without --data find it.
registry="$here/run/ports"
mkdir -p "$registry"
if [[ -z "$data" && -f "$registry/$port" ]]; then
  data="$(cat "$registry/$port")"
fi
data="${data:-$here/run/$port}"
mkdir -p "$data/logs"
data="$(cd "$data" && pwd)"
echo "$data" >"$registry/$port"

pidfile="$data/kafka.pid"
serverlog="$data/logs/server.log"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
is_our_broker() { [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'kafka\.Kafka'; }

if [[ -f "$pidfile" ]]; then
  pid="$(cat "$pidfile")"
  if is_our_broker "$pid"; then
    echo "start.sh: broker already running on 127.0.0.1:$port (pid $pid, data $data)"
    echo "KAFKA_BROKERS=127.0.0.1:$port"
    exit 0
  fi
  rm -f "$pidfile"
fi
if port_in_use "$port"; then
  echo "start.sh: 127.0.0.1:$port is already taken by another process" >&2
  exit 1
fi

if ! compgen -G "$lib/kafka_2.13-*.jar" >/dev/null; then
  "$here/fetch.sh"
fi
if ! command -v java >/dev/null 2>&1; then
  echo "start.sh: 'java' is missing; install it: apt-get install -y openjdk-17-jre-headless maven" >&2
  exit 1
fi

# The controller port stays with the data dir; a new one is picked only when it is taken.
cport=""
if [[ -f "$data/controller.port" ]]; then
  cport="$(cat "$data/controller.port")"
  if port_in_use "$cport"; then cport=""; fi
fi
while [[ -z "$cport" || "$cport" == "$port" ]]; do
  cport="$("$here/free-port.sh")"
done
echo "$cport" >"$data/controller.port"

logdirs="$data/kraft-logs"
sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$cport|g" -e "s|@LOG_DIRS@|$logdirs|g" \
  "$here/server.properties.template" >"$data/server.properties"

heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
jvm_opts=(
  $heap
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$here/log4j.properties"
  "-Dkafka.logs.dir=$data/logs"
)

if [[ ! -f "$logdirs/meta.properties" ]]; then
  # A Kafka cluster id is 16 random bytes in URL-safe base64 without padding.
  # `--cluster-id=ID`, not `--cluster-id ID`: an id starting with "-" (1 in 64) would read as an option.
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  java "${jvm_opts[@]}" -cp "$lib/*" kafka.tools.StorageTool format \
    --config "$data/server.properties" --cluster-id="$cluster_id" --ignore-formatted \
    >"$data/logs/format.log" 2>&1 || {
      echo "start.sh: formatting the storage failed:" >&2
      cat "$data/logs/format.log" >&2
      exit 1
    }
fi

# Start from an empty server.log so the readiness check cannot see an earlier run's line.
if [[ -f "$serverlog" ]]; then mv -f "$serverlog" "$serverlog.previous"; fi

started_at=$(date +%s)
# setsid: the broker leaves the caller's process group, so a Ctrl-C in a test run that started it
# does not kill it before stop.sh shuts it down cleanly.
setsid java "${jvm_opts[@]}" -cp "$lib/*" kafka.Kafka "$data/server.properties" \
  >"$data/logs/stdout.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"

timeout_s="${KAFKA_START_TIMEOUT:-90}"
while true; do
  if [[ -f "$serverlog" ]] && grep -q 'Kafka Server started' "$serverlog"; then
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "start.sh: the broker exited during startup; last log lines:" >&2
    tail -n 40 "$serverlog" "$data/logs/stdout.log" >&2 2>/dev/null || true
    rm -f "$pidfile"
    exit 1
  fi
  if (( $(date +%s) - started_at >= timeout_s )); then
    echo "start.sh: broker not started after ${timeout_s}s; last log lines:" >&2
    tail -n 40 "$serverlog" "$data/logs/stdout.log" >&2 2>/dev/null || true
    "$here/stop.sh" --port "$port" >/dev/null 2>&1 || true
    exit 1
  fi
  sleep 0.25
done

echo "start.sh: broker up on 127.0.0.1:$port in $(( $(date +%s) - started_at ))s (pid $pid, data $data)"
echo "KAFKA_BROKERS=127.0.0.1:$port"
