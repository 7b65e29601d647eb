# Sourced by scripts/test.sh, scripts/run-local.sh and bench/run.sh: makes sure the machine has the
# system packages the script needs, so each README command is complete on a fresh machine.
#
#   source scripts/system-deps.sh
#   grantline_system_deps run  || exit 1   # the broker: java (17), mvn
#   grantline_system_deps test || exit 1   # also javac, openssl, /usr/bin/python3 with
#                                          # confluent_kafka and cryptography (consumer examples),
#                                          # and postgresql (the PostgreSQL adapter's tests)
#
# Missing packages are installed with Debian's apt-get when running as root (CI and these
# machines); otherwise the script names what to install and fails.

grantline_missing_packages() {
  local profile="$1"
  local -a pkgs=()
  command -v java >/dev/null 2>&1 || pkgs+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || pkgs+=(maven)
  if [[ "$profile" == "test" ]]; then
    # The Java consumer example is compiled by its test; the secured test listeners' CA and
    # certificates come from openssl; the Python consumer runs on Debian's python3 and packages.
    command -v javac >/dev/null 2>&1 || pkgs+=(openjdk-17-jdk-headless)
    command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
    # The PostgreSQL adapter's tests run against a real server (scripts/postgres.sh starts it).
    command -v pg_ctlcluster >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 || pkgs+=(postgresql)
    if [[ ! -x /usr/bin/python3 ]]; then
      pkgs+=(python3 python3-confluent-kafka python3-cryptography)
    else
      /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null || pkgs+=(python3-confluent-kafka)
      /usr/bin/python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null || pkgs+=(python3-cryptography)
    fi
  fi
  echo "${pkgs[*]}"
}

grantline_system_deps() {
  local profile="${1:-run}" missing
  missing="$(grantline_missing_packages "$profile")"
  [[ -z "$missing" ]] && return 0
  if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: missing system packages; install them (Debian names): $missing" >&2
    return 1
  fi
  echo "system-deps: installing $missing (apt-get)"
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || {
    echo "system-deps: apt-get could not install: $missing" >&2
    return 1
  }
  missing="$(grantline_missing_packages "$profile")"
  if [[ -n "$missing" ]]; then
    echo "system-deps: still missing after apt-get: $missing" >&2
    return 1
  fi
}
