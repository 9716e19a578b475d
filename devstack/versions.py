"""Pinned versions and dynamic config of the production shape, for the local cluster and compose.

tests/test_compose.py checks docker-compose.yml against them. Plain versions, no leading "v": image
tags use them as they are, Go module queries as f"v{...}".
"""

from __future__ import annotations

# go.temporal.io/server: the server (cmd/server) and its SQL schema tool (cmd/tools/sql) come from
# this one release, so the schema the tool installs is the one the server expects.
TEMPORAL_SERVER_VERSION = "1.32.0"
TEMPORAL_SERVER_MODULE = "go.temporal.io/server"

# github.com/temporalio/ui-server/v2 (cmd/server); the temporalio/ui image carries the same number.
TEMPORAL_UI_VERSION = "2.55.0"
TEMPORAL_UI_MODULE = "github.com/temporalio/ui-server/v2"

# Major version only: Debian's postgresql-15 locally, the postgres:15 image in docker-compose.
POSTGRES_MAJOR = 15

# The Temporal CLI (github.com/temporalio/cli): newest tag `go install` accepts, since v1.6+ has a
# replace directive in its go.mod.
TEMPORAL_CLI_VERSION = "1.5.1"

# The one dynamic config file (repo-relative) that both the docker-compose server and the local
# cluster's server load: task queue fairness and the SQL id limit are set there.
DYNAMIC_CONFIG_FILE = "deploy/temporal/dynamicconfig/development-sql.yaml"
