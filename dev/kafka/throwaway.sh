# A throwaway Kafka broker for one script run: a free port, a temporary data dir, stopped however
# the run ends. Sourced by scripts/test.sh and bench/run.sh:
#
#   source dev/kafka/throwaway.sh                # also sets the EXIT/INT/TERM traps that stop it
#   throwaway_broker_start test [--secure] || die "..."
#
# Exports KAFKA_BROKERS and KAFKA_DATA_DIR; with --secure (start.sh --secure) also
# KAFKA_SASL_SSL_BROKERS, KAFKA_MTLS_BROKERS, KAFKA_TLS_DIR, KAFKA_SASL_USERNAME,
# KAFKA_SASL_PASSWORD, KAFKA_OAUTH_ISSUER and KAFKA_OAUTH_AUDIENCE (test-only values made for this
# run). GRANTLINE_KEEP_KAFKA_DATA=1 keeps the data dir (printed) for inspection.

throwaway_kafka_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
throwaway_port=""
throwaway_data=""

throwaway_broker_start() {
  local label="${1:-run}" extra=("${@:2}") out code attempt
  # A port picked free can be taken by another process before the broker binds it (start.sh then
  # exits 3): try again on new ports and a fresh data dir, a few times.
  for attempt in 1 2 3; do
    throwaway_port="$("$throwaway_kafka_dir/free-port.sh")" || return 1
    throwaway_data="$(mktemp -d "${TMPDIR:-/tmp}/grantline-$label-kafka.XXXXXX")" || return 1
    code=0
    out="$("$throwaway_kafka_dir/start.sh" --port "$throwaway_port" --data "$throwaway_data" "${extra[@]}")" || code=$?
    echo "$out"
    if (( code == 0 )); then break; fi
    rm -f "$throwaway_kafka_dir/run/ports/$throwaway_port"
    rm -rf "$throwaway_data"
    throwaway_port="" throwaway_data=""
    if (( code != 3 )); then return 1; fi
    echo "throwaway.sh: a port was taken before the broker bound it; trying other ports (attempt $((attempt + 1)) of 3)"
  done
  [[ -n "$throwaway_port" ]] || return 1
  export KAFKA_BROKERS="127.0.0.1:$throwaway_port"
  export KAFKA_DATA_DIR="$throwaway_data"
  if [[ -f "$throwaway_data/secure/secure.env" ]]; then
    set -a
    # shellcheck source=/dev/null
    source "$throwaway_data/secure/secure.env"
    set +a
  fi
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
