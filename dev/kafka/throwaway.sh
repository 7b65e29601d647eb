# A throwaway Kafka broker for one script run: a free port, a temporary data dir, stopped however
# the run ends. Sourced by scripts/test.sh and bench/run.sh:
#
#   source dev/kafka/throwaway.sh                # also sets the EXIT/INT/TERM traps that stop it
#   throwaway_broker_start test || die "..."     # exports KAFKA_BROKERS and KAFKA_DATA_DIR
#
# GRANTLINE_KEEP_KAFKA_DATA=1 keeps the data dir (printed) for inspection.

throwaway_kafka_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
throwaway_port=""
throwaway_data=""

throwaway_broker_start() {
  local label="${1:-run}" out
  throwaway_port="$("$throwaway_kafka_dir/free-port.sh")" || return 1
  throwaway_data="$(mktemp -d "${TMPDIR:-/tmp}/grantline-$label-kafka.XXXXXX")" || return 1
  out="$("$throwaway_kafka_dir/start.sh" --port "$throwaway_port" --data "$throwaway_data")" || {
    echo "$out"
    return 1
  }
  echo "$out"
  export KAFKA_BROKERS="127.0.0.1:$throwaway_port"
  export KAFKA_DATA_DIR="$throwaway_data"
}

throwaway_broker_stop() {
  if [[ -n "$throwaway_port" ]]; then
    echo
    echo "==> stopping the Kafka broker on 127.0.0.1:$throwaway_port"
    "$throwaway_kafka_dir/stop.sh" --port "$throwaway_port" --data "$throwaway_data" || true
    rm -f "$throwaway_kafka_dir/run/ports/$throwaway_port"
  fi
  if [[ -n "$throwaway_data" ]]; then
    if [[ "${GRANTLINE_KEEP_KAFKA_DATA:-}" == "1" ]]; then
      echo "broker data kept in $throwaway_data"
    else
      rm -rf "$throwaway_data"
    fi
  fi
}

# Stop the broker however the script ends, keeping the script's exit code.
throwaway_cleanup() {
  local code=$?
  throwaway_broker_stop
  exit "$code"
}
trap throwaway_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
