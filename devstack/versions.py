"""The pinned versions of the stack's outside programs (one place for the local stack and compose)."""

TEMPORAL_CLI_VERSION = "1.5.1"
TEMPORAL_SERVER_VERSION = "1.32.0"
TEMPORAL_UI_VERSION = "2.55.0"
POSTGRES_MAJOR = 15
