#!/usr/bin/env bash
# Installs (if needed) and starts a local PostgreSQL for the profile-store tests, then prints the
# TEST_DATABASE_URL to use. Meant for CI on Debian 12, run as root; safe to run again and again.
#
#   eval "$(scripts/ci-postgres.sh | tail -n 1)"   # sets TEST_DATABASE_URL in the calling shell
#
# Progress goes to stderr so stdout carries only the export line.
set -euo pipefail

ROLE=unbroken
PASSWORD=unbroken
DATABASE=unbroken_test
PORT=5432

log() {
  printf 'ci-postgres: %s\n' "$*" >&2
}

if [[ $(id -u) -ne 0 ]]; then
  log "must run as root (it installs packages and starts the cluster as the postgres user)"
  exit 1
fi

# Debian's wrapper scripts (pg_ctlcluster, pg_lsclusters) come with the postgresql package.
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v pg_lsclusters >/dev/null 2>&1; then
  log "installing postgresql from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y postgresql >&2
fi

# The package creates a "main" cluster for its major version; take the first cluster listed
# rather than hard-coding 15, so a newer Debian works too.
read -r VERSION CLUSTER < <(pg_lsclusters --no-header | awk 'NR == 1 { print $1, $2 }') || true
if [[ -z ${VERSION:-} ]]; then
  VERSION=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
  CLUSTER=main
  log "no cluster yet; creating $VERSION/$CLUSTER"
  pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >&2
fi

STATUS=$(pg_lsclusters --no-header | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c { print $4 }')
if [[ $STATUS != online ]]; then
  log "starting cluster $VERSION/$CLUSTER"
  pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

CLUSTER_PORT=$(pg_lsclusters --no-header | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c { print $3 }')

# Wait until the server accepts connections: `start` can return before it is ready.
for _ in $(seq 1 30); do
  if runuser -u postgres -- psql -p "$CLUSTER_PORT" -tAc 'SELECT 1' >/dev/null 2>&1; then break; fi
  sleep 1
done

psql_admin() {
  runuser -u postgres -- psql -p "$CLUSTER_PORT" -v ON_ERROR_STOP=1 -tA "$@"
}

if [[ $(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'") != 1 ]]; then
  log "creating role $ROLE"
  psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
else
  # Keep the password known even if the role was created by hand with another one.
  psql_admin -c "ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
fi

if [[ $(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'") != 1 ]]; then
  log "creating database $DATABASE"
  psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE" >&2
fi

# The tests create and drop a schema of their own per run, so the role must own the database.
psql_admin -c "ALTER DATABASE $DATABASE OWNER TO $ROLE" >&2

log "PostgreSQL $VERSION/$CLUSTER is up on port $CLUSTER_PORT"
echo "export TEST_DATABASE_URL=postgres://$ROLE:$PASSWORD@127.0.0.1:$CLUSTER_PORT/$DATABASE"
