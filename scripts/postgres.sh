# Sourced by scripts/test.sh (and scripts/run-local.sh, bench/run.sh for the PostgreSQL adapter):
# makes sure a PostgreSQL server answers on 127.0.0.1:5432 and lets the user `postgres` into the
# database `test` without a password, as the project's machines have it and the adapter tests
# expect (GRANTLINE_TEST_PG_* override the server for the tests).
#
#   source scripts/postgres.sh
#   grantline_postgres_up || exit 1
#
# Debian's `postgresql` package itself comes from scripts/system-deps.sh (profile `test`). This
# starts its cluster when it is down (`pg_ctlcluster`, as there is no systemd here), and, as root
# only, on a cluster that refuses the passwordless login, trusts 127.0.0.1 in its pg_hba.conf and
# creates `test`: a throwaway test server, never a shared one.

grantline_pg_ok() {
  PGCONNECT_TIMEOUT=3 psql -h 127.0.0.1 -p 5432 -U postgres -d "${1:-test}" -Atqc 'SELECT 1' >/dev/null 2>&1
}

grantline_postgres_up() {
  if [[ -n "${GRANTLINE_TEST_PG_HOST:-}" ]]; then return 0; fi
  if ! command -v pg_isready >/dev/null 2>&1; then
    echo "postgres: no PostgreSQL client tools (pg_isready, psql); install Debian's postgresql" >&2
    return 1
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
    if [[ -z "$version" ]] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
      echo "postgres: nothing answers on 127.0.0.1:5432 and no Debian cluster is installed; install Debian's postgresql" >&2
      return 1
    fi
    echo "postgres: starting cluster $version/main (pg_ctlcluster)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || {
      echo "postgres: pg_ctlcluster $version main start failed" >&2
      return 1
    }
    local i
    for i in $(seq 1 30); do
      pg_isready -q -h 127.0.0.1 -p 5432 && break
      sleep 1
    done
    pg_isready -q -h 127.0.0.1 -p 5432 || {
      echo "postgres: the cluster started but 127.0.0.1:5432 does not answer" >&2
      return 1
    }
  fi
  grantline_pg_ok test && return 0
  if [[ "$(id -u)" != "0" ]] || ! command -v runuser >/dev/null 2>&1; then
    echo "postgres: 127.0.0.1:5432 answers, but user postgres cannot log into database test without a password; the adapter tests need that (trust for 127.0.0.1), or set GRANTLINE_TEST_PG_HOST and friends" >&2
    return 1
  fi
  if ! grantline_pg_ok postgres; then
    local hba
    hba="$(runuser -u postgres -- psql -Atqc 'SHOW hba_file')" || {
      echo "postgres: cannot ask the server for its pg_hba.conf" >&2
      return 1
    }
    echo "postgres: trusting 127.0.0.1 in $hba (a test server)"
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba" && runuser -u postgres -- psql -Atqc 'SELECT pg_reload_conf()' >/dev/null || return 1
    sleep 1
  fi
  if ! grantline_pg_ok test; then
    echo "postgres: creating database test"
    psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc 'CREATE DATABASE test' >/dev/null || return 1
  fi
  grantline_pg_ok test || {
    echo "postgres: still cannot log into database test as postgres" >&2
    return 1
  }
}
