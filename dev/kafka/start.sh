#!/usr/bin/env bash
# Starts a single-node KRaft Kafka broker in the background on 127.0.0.1.
#
#   dev/kafka/start.sh [--port N] [--data DIR] [--secure] [--acls] [--scram-user NAME:PASSWORD ...]
#
# Port: --port, else $KAFKA_PORT, else 9092. The controller port is chosen free automatically and
# kept with the data. Data dir: --data, else the dir this port used last, else dev/kafka/run/<port>.
# The data dir holds the KRaft log, server.properties, kafka.pid and logs/server.log, and survives
# stop.sh, so topics persist across a stop/start. Prints KAFKA_BROKERS=127.0.0.1:<port> when the
# broker is up. Starting a broker that already runs on that port says so and exits 0.
#
# --secure (a fresh data dir; remembered by it, so a restart keeps it) also opens a SASL_SSL
# listener (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN, OAUTHBEARER) and an mTLS SSL listener, each on
# its own free port, with a throwaway CA and test user made in <data>/secure
# (secure-material.sh). It then also prints KAFKA_SASL_SSL_BROKERS, KAFKA_MTLS_BROKERS,
# KAFKA_TLS_DIR and KAFKA_SECURE_ENV: a file of those plus KAFKA_SASL_USERNAME,
# KAFKA_SASL_PASSWORD, KAFKA_OAUTH_ISSUER and KAFKA_OAUTH_AUDIENCE, to source (the password is
# never printed).
#
# --acls (implies --secure; remembered by the data dir) turns on authorization: KRaft's
# StandardAuthorizer with allow.everyone.if.no.acl.found=false, so a principal may do only what an
# ACL allows. The super users are User:ANONYMOUS, i.e. whoever connects to the PLAINTEXT listener
# on 127.0.0.1 (the broker itself, its controller, and an admin creating topics and ACLs), and the
# --secure test user. Everyone else on the SASL_SSL listener needs ACLs (`grantline acls --apply`).
#
# --scram-user NAME:PASSWORD (repeatable; implies --secure; a fresh data dir only, since SCRAM users
# are added when the storage is formatted) adds a SCRAM-SHA-512 and SCRAM-SHA-256 user, e.g. one
# principal per grantline role. NAME and PASSWORD: letters, digits, ".", "_" and "-".
#
# Exit codes: 0 up, 1 failed, 2 bad arguments, 3 a port was taken by another process (between
# choosing it and binding it, or given); a caller may retry on other ports.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$here/target/lib"

port="${KAFKA_PORT:-9092}"
data=""
secure=""
acls=""
scram_users=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="${2:?--port needs a value}"; shift 2 ;;
    --port=*) port="${1#--port=}"; shift ;;
    --data) data="${2:?--data needs a value}"; shift 2 ;;
    --data=*) data="${1#--data=}"; shift ;;
    --secure) secure=1; shift ;;
    --acls) acls=1; secure=1; shift ;;
    --scram-user)
      user_spec="${2:?--scram-user needs NAME:PASSWORD}"
      if ! [[ "$user_spec" =~ ^[A-Za-z0-9._-]+:[A-Za-z0-9._-]+$ ]]; then
        echo "start.sh: --scram-user needs NAME:PASSWORD, each of letters, digits, \".\", \"_\" and \"-\"" >&2
        exit 2
      fi
      scram_users+=("$user_spec"); secure=1; shift 2 ;;
    -h|--help) sed -n '2,31p' "${BASH_SOURCE[0]}"; exit 0 ;;
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

# What clients need, one VAR=value a line; the secured listeners' from secure.env, never the password.
print_addresses() {
  echo "KAFKA_BROKERS=127.0.0.1:$port"
  if [[ -f "$data/secure/secure.env" ]]; then
    grep -E '^KAFKA_(SASL_SSL_BROKERS|MTLS_BROKERS|TLS_DIR)=' "$data/secure/secure.env"
    echo "KAFKA_SECURE_ENV=$data/secure/secure.env"
  fi
}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
is_our_broker() { [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'kafka\.Kafka'; }

if [[ -f "$pidfile" ]]; then
  pid="$(cat "$pidfile")"
  if is_our_broker "$pid"; then
    echo "start.sh: broker already running on 127.0.0.1:$port (pid $pid, data $data)"
    print_addresses
    exit 0
  fi
  rm -f "$pidfile"
fi
if port_in_use "$port"; then
  echo "start.sh: 127.0.0.1:$port is already taken by another process" >&2
  exit 3
fi

if ! compgen -G "$lib/kafka_2.13-*.jar" >/dev/null; then
  "$here/fetch.sh"
fi
if ! command -v java >/dev/null 2>&1; then
  echo "start.sh: 'java' is missing; install it: apt-get install -y openjdk-17-jre-headless maven" >&2
  exit 1
fi

secure_dir="$data/secure"
logdirs="$data/kraft-logs"
# A data dir made with --secure stays secure: its SCRAM user lives in the formatted metadata.
if [[ -f "$secure_dir/sasl.password" ]]; then secure=1; fi
if [[ -n "$secure" && ! -f "$secure_dir/sasl.password" && -f "$logdirs/meta.properties" ]]; then
  echo "start.sh: --secure needs a fresh data dir ($data was formatted without it; SCRAM users are added when the storage is formatted)" >&2
  exit 2
fi
if (( ${#scram_users[@]} > 0 )) && [[ -f "$logdirs/meta.properties" ]]; then
  echo "start.sh: --scram-user needs a fresh data dir ($data is formatted already; SCRAM users are added when the storage is formatted)" >&2
  exit 2
fi
# A data dir made with --acls keeps authorization on across restarts.
if [[ -f "$data/acls" ]]; then acls=1; fi

# Ports besides --port (controller; with --secure the SASL_SSL and mTLS listeners) stay with the
# data dir, so a restart keeps its addresses; any that is taken now is replaced. New ones are picked
# together (free-port.sh N), so they are distinct from each other and from --port.
port_names=(controller)
if [[ -n "$secure" ]]; then port_names+=(sasl-ssl mtls); fi
declare -A ports=()
chosen=" $port "
missing=0
for name in "${port_names[@]}"; do
  file="$data/$name.port"
  p=""
  if [[ -f "$file" ]]; then p="$(cat "$file")"; fi
  if [[ -n "$p" && "$chosen" != *" $p "* ]] && ! port_in_use "$p"; then
    ports[$name]="$p"
    chosen+="$p "
  else
    # Clients that learned the old address (KAFKA_SASL_SSL_BROKERS, ...) must be told: say so.
    if [[ -n "$p" && "$name" != controller ]]; then echo "start.sh: the $name port $p is taken now; the listener moves to a new port" >&2; fi
    missing=$((missing + 1))
  fi
done
if (( missing > 0 )); then
  candidates=($("$here/free-port.sh" $((missing + ${#port_names[@]} + 1))))
  for name in "${port_names[@]}"; do
    [[ -n "${ports[$name]:-}" ]] && continue
    for p in "${candidates[@]}"; do
      if [[ "$chosen" != *" $p "* ]]; then
        ports[$name]="$p"
        chosen+="$p "
        break
      fi
    done
  done
fi
for name in "${port_names[@]}"; do
  if [[ -z "${ports[$name]:-}" ]]; then
    echo "start.sh: could not choose a free port for the $name listener" >&2
    exit 1
  fi
  echo "${ports[$name]}" >"$data/$name.port"
done
cport="${ports[controller]}"

secure_listeners="" secure_advertised="" secure_protocols=""
if [[ -n "$secure" ]]; then
  "$here/secure-material.sh" "$secure_dir" || exit 1
  sasl_user="grantline_it"
  sasl_password="$(cat "$secure_dir/sasl.password")"
  oauth_issuer="grantline-it-issuer"
  oauth_audience="grantline-it-kafka"
  secure_listeners=",SASL_SSL://127.0.0.1:${ports[sasl-ssl]},SSL://127.0.0.1:${ports[mtls]}"
  secure_advertised="$secure_listeners"
  secure_protocols=",SASL_SSL:SASL_SSL,SSL:SSL"
fi

sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$cport|g" -e "s|@LOG_DIRS@|$logdirs|g" \
  -e "s|@SECURE_LISTENERS@|$secure_listeners|g" -e "s|@SECURE_ADVERTISED@|$secure_advertised|g" \
  -e "s|@SECURE_PROTOCOLS@|$secure_protocols|g" \
  "$here/server.properties.template" >"$data/server.properties"
if [[ -n "$secure" ]]; then
  sed -e "s|@SECURE_DIR@|$secure_dir|g" -e "s|@SASL_USER@|$sasl_user|g" -e "s|@SASL_PASSWORD@|$sasl_password|g" \
    -e "s|@OAUTH_ISSUER@|$oauth_issuer|g" -e "s|@OAUTH_AUDIENCE@|$oauth_audience|g" \
    "$here/server-secure.properties.template" >>"$data/server.properties"
  if [[ -n "$acls" ]]; then
    cat >>"$data/server.properties" <<PROPS

# --- Authorization (start.sh --acls) ---
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
# The PLAINTEXT and CONTROLLER listeners (127.0.0.1 only) authenticate nobody: User:ANONYMOUS is the
# broker's own controller and inter-broker traffic, and the local admin.
super.users=User:ANONYMOUS;User:$sasl_user
PROPS
    touch "$data/acls"
  fi
  chmod 600 "$data/server.properties" # it holds the PLAIN user's password
  (umask 077 && cat >"$secure_dir/secure.env" <<ENV
KAFKA_SASL_SSL_BROKERS=127.0.0.1:${ports[sasl-ssl]}
KAFKA_MTLS_BROKERS=127.0.0.1:${ports[mtls]}
KAFKA_TLS_DIR=$secure_dir
KAFKA_SASL_USERNAME=$sasl_user
KAFKA_SASL_PASSWORD=$sasl_password
KAFKA_OAUTH_ISSUER=$oauth_issuer
KAFKA_OAUTH_AUDIENCE=$oauth_audience
ENV
  )
fi

heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
jvm_opts=(
  $heap
  -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
  -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$here/log4j.properties"
  "-Dkafka.logs.dir=$data/logs"
)
if [[ -n "$secure" ]]; then
  # The only URL the OAUTHBEARER validator may read keys from (Kafka 3.9.1+ checks this list when set).
  jvm_opts+=("-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=file://$secure_dir/oauth-jwks.json")
fi

if [[ ! -f "$logdirs/meta.properties" ]]; then
  # A Kafka cluster id is 16 random bytes in URL-safe base64 without padding. About one in 64
  # starts with "-"; Kafka's own Uuid.randomUuid() draws again then, and so does this loop. The
  # `--cluster-id=ID` form is kept as well: with `--cluster-id ID` the storage tool read such an
  # id as an option ("argument --cluster-id/-t: expected one argument") and the start failed.
  cluster_id="-"
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  format_args=(--config "$data/server.properties" "--cluster-id=$cluster_id" --ignore-formatted)
  if [[ -n "$secure" ]]; then
    format_args+=(--add-scram "SCRAM-SHA-512=[name=$sasl_user,password=$sasl_password]")
    format_args+=(--add-scram "SCRAM-SHA-256=[name=$sasl_user,password=$sasl_password]")
  fi
  for user_spec in "${scram_users[@]}"; do
    format_args+=(--add-scram "SCRAM-SHA-512=[name=${user_spec%%:*},password=${user_spec#*:}]")
    format_args+=(--add-scram "SCRAM-SHA-256=[name=${user_spec%%:*},password=${user_spec#*:}]")
  done
  java "${jvm_opts[@]}" -cp "$lib/*" kafka.tools.StorageTool format "${format_args[@]}" \
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
    # Another process bound one of the chosen ports after they were picked: a caller may retry.
    if grep -qs 'Address already in use' "$serverlog" "$data/logs/stdout.log"; then exit 3; fi
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
print_addresses
