#!/bin/sh
# One-shot job (temporalio/admin-tools): bring Temporal's two PostgreSQL databases to the schema
# version this image ships. Safe to re-run: setup-schema is a no-op on a set-up database and
# update-schema applies only the missing versions. The databases themselves are created by
# deploy/postgres/init-databases.sh; the connection comes from SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD (read by temporal-sql-tool itself).
set -eu

echo "temporal-schema: persistence database 'temporal'"
temporal-sql-tool --plugin postgres12 --db temporal setup-schema -v 0.0
temporal-sql-tool --plugin postgres12 --db temporal update-schema \
    -d /etc/temporal/schema/postgresql/v12/temporal/versioned

echo "temporal-schema: visibility database 'temporal_visibility'"
temporal-sql-tool --plugin postgres12 --db temporal_visibility setup-schema -v 0.0
temporal-sql-tool --plugin postgres12 --db temporal_visibility update-schema \
    -d /etc/temporal/schema/postgresql/v12/visibility/versioned

echo "temporal-schema: done"
