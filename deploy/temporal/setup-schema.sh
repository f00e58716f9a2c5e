#!/bin/sh
# One-shot, run by the `temporal-schema` service in temporalio/admin-tools before the server starts
# (the pattern of temporalio/samples-server compose/scripts/setup-postgres.sh, which replaced the
# retired auto-setup image). Safe on every `docker compose up`: `create` ignores a database that
# exists, `setup-schema -v 0.0` only seeds the version table of an empty database, and
# `update-schema` applies only the versions the database lacks (so a newer server image upgrades it).
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12

echo "waiting for Postgres at ${POSTGRES_SEEDS}:${PORT}"
until nc -z -w 5 "$POSTGRES_SEEDS" "$PORT"; do sleep 1; done

# temporal: workflow histories and state; temporal_visibility: the store that lists and filters
# workflows (the Web UI's queries and our search attributes such as NeedsHuman=true).
for pair in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db="${pair%%:*}"
  dir="${SCHEMA}/${pair##*:}/versioned"
  sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" --db "$db" "$@"; }
  sql create
  sql setup-schema -v 0.0
  sql update-schema -d "$dir"
  echo "schema of ${db} is up to date"
done
