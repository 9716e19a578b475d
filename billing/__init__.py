"""The public contract with Skimmer's billing backend: events and record snapshots (pydantic only)."""
