#!/bin/sh
# One-shot job (temporalio/admin-tools): bring Temporal's two PostgreSQL databases to the schema
# version of the release that built the tool (1.32: persistence 1.19, visibility 1.14). The schema
# comes from the tool itself (--schema-name, embedded in temporal-sql-tool), so it always matches
# the server of the same version, in the image or built locally with Go.
# Safe to re-run: setup-schema leaves a set-up database's version alone and update-schema applies
# only the missing versions. The databases themselves are created by
# deploy/postgres/init-databases.sh; the connection comes from SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD (read by temporal-sql-tool itself).
# Optional: TEMPORAL_SQL_TOOL (a locally built tool; `go install` of
# go.temporal.io/server/cmd/tools/sql names it `sql`), DBNAME and VISIBILITY_DBNAME (the names the
# server reads too).
set -eu

SQL_TOOL="${TEMPORAL_SQL_TOOL:-temporal-sql-tool}"

echo "temporal-schema: persistence database '${DBNAME:-temporal}'"
"$SQL_TOOL" --plugin postgres12 --db "${DBNAME:-temporal}" setup-schema -v 0.0
"$SQL_TOOL" --plugin postgres12 --db "${DBNAME:-temporal}" update-schema \
    --schema-name postgresql/v12/temporal

echo "temporal-schema: visibility database '${VISIBILITY_DBNAME:-temporal_visibility}'"
"$SQL_TOOL" --plugin postgres12 --db "${VISIBILITY_DBNAME:-temporal_visibility}" setup-schema -v 0.0
"$SQL_TOOL" --plugin postgres12 --db "${VISIBILITY_DBNAME:-temporal_visibility}" update-schema \
    --schema-name postgresql/v12/visibility

echo "temporal-schema: done"
