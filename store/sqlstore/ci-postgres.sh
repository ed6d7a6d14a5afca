#!/usr/bin/env bash
# ci-postgres.sh: install (if needed), start and prepare a local PostgreSQL for the
# store/sqlstore tests, then print the DSN to export.
#
#   line=$(store/sqlstore/ci-postgres.sh) && eval "$line"   # sets VISA_TEST_POSTGRES_DSN
#   export CI=true   # then the PostgreSQL tests fail, not skip, without it
#
# Runs as root on Debian 12 (bookworm) with or without PostgreSQL installed, and is
# idempotent: running it again on a prepared machine changes nothing. Everything except
# the final export line goes to stderr, so eval sees only the export.
set -euo pipefail

PGUSER_NAME=${VICGO_PG_USER:-vicgo}
PGPASS=${VICGO_PG_PASSWORD:-vicgo}
PGDB=${VICGO_PG_DB:-vicgo_test}
PGPORT=${VICGO_PG_PORT:-5432}

log() { printf 'ci-postgres: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (it installs packages and starts the cluster)"
  exit 1
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing postgresql with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends postgresql >&2
fi

# The newest installed server version (15 on Debian 12).
PGVER=$(ls /usr/lib/postgresql | sort -V | tail -n1)
log "postgresql ${PGVER}"

# One line per cluster: "version name port status ..." (no pipes into grep -q:
# with pipefail, an early-exiting grep could fail the pipeline).
cluster_field() { # $1 = field number (3 port, 4 status) of ${PGVER}/main, empty if absent
  pg_lsclusters -h | awk -v v="${PGVER}" -v f="$1" '$1==v && $2=="main" {print $f}'
}

# apt normally creates the "main" cluster; create it if a policy or image skipped that.
if [ -z "$(cluster_field 4)" ]; then
  log "creating cluster ${PGVER}/main"
  pg_createcluster --port "${PGPORT}" "${PGVER}" main >&2
fi

# Start it unless it is already online (no systemd needed: pg_ctlcluster drops to postgres).
case "$(cluster_field 4)" in
  online*) ;;
  *)
    log "starting cluster ${PGVER}/main"
    pg_ctlcluster "${PGVER}" main start >&2
    ;;
esac
PGPORT=$(cluster_field 3)

# Wait until it accepts connections (bounded: 30 s).
for _ in $(seq 1 30); do
  if runuser -u postgres -- pg_isready -q -p "${PGPORT}"; then break; fi
  sleep 1
done
runuser -u postgres -- pg_isready -p "${PGPORT}" >&2

psql_su() { runuser -u postgres -- psql -p "${PGPORT}" -v ON_ERROR_STOP=1 -qtA "$@"; }

# Room for the whole suite at once: the store's races, the two-process
# idempotency test, the TAP nonce store and the fleet test's replicas all hold
# pools, and `go test ./...` runs packages side by side. 100 connections (the
# default) can run out; raise it once, with a restart, when it is lower.
want_conns=300
if [ "$(psql_su -c 'SHOW max_connections')" -lt "${want_conns}" ]; then
  log "raising max_connections to ${want_conns}"
  psql_su -c "ALTER SYSTEM SET max_connections = ${want_conns}" >&2
  pg_ctlcluster "${PGVER}" main restart >&2
  for _ in $(seq 1 30); do
    if runuser -u postgres -- pg_isready -q -p "${PGPORT}"; then break; fi
    sleep 1
  done
fi

# Role: create or reset its password (idempotent).
if [ "$(psql_su -c "SELECT 1 FROM pg_roles WHERE rolname = '${PGUSER_NAME}'")" != "1" ]; then
  log "creating role ${PGUSER_NAME}"
  psql_su -c "CREATE ROLE \"${PGUSER_NAME}\" LOGIN PASSWORD '${PGPASS}'" >&2
else
  psql_su -c "ALTER ROLE \"${PGUSER_NAME}\" LOGIN PASSWORD '${PGPASS}'" >&2
fi

# Database owned by the role, so tests may create and drop their own schemas.
if [ "$(psql_su -c "SELECT 1 FROM pg_database WHERE datname = '${PGDB}'")" != "1" ]; then
  log "creating database ${PGDB}"
  psql_su -c "CREATE DATABASE \"${PGDB}\" OWNER \"${PGUSER_NAME}\"" >&2
fi

DSN="postgres://${PGUSER_NAME}:${PGPASS}@127.0.0.1:${PGPORT}/${PGDB}?sslmode=disable"

# Prove the password login over TCP works before handing the DSN out.
PGPASSWORD="${PGPASS}" psql "${DSN}" -qtAc 'SELECT 1' >/dev/null
log "ready"

printf "export VISA_TEST_POSTGRES_DSN='%s'\n" "${DSN}"
