#!/bin/sh
# Runs once, when the postgres container initialises an empty data volume
# (/docker-entrypoint-initdb.d). Creates one role per owner and the three databases:
#   temporal, temporal_visibility  -> Temporal's persistence and visibility stores (role: temporal)
#   skimmer                        -> this service's store (role: skimmer; DATABASE_URL)
# Tables are not created here: the temporal-schema job and the service do that.
set -eu

psql -v ON_ERROR_STOP=1 \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v temporal_password="$TEMPORAL_DB_PASSWORD" \
    -v skimmer_password="$SKIMMER_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;

CREATE ROLE skimmer LOGIN PASSWORD :'skimmer_password';
CREATE DATABASE skimmer OWNER skimmer;

-- Temporal's visibility schema (postgres12, v1.2) needs btree_gin; creating it here as the
-- superuser means the schema job never needs more than database-owner rights.
\connect temporal_visibility
CREATE EXTENSION IF NOT EXISTS btree_gin;
SQL
