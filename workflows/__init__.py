"""Workflows: orchestration only (deterministic, no I/O). One module per workflow family."""
